"""Errors of the Bitrix24 client: one tree, and one table mapping portal error codes onto it.

No I/O. The tree (STYLE.md §2.7; codes from bitrix24.md §1.5 and §7.3)::

    B24Error                        .retryable  .maybe_executed  .retry_after
     ├─ TransportError              retryable; the portal's answer never arrived or was not JSON
     │   ├─ ConnectError            could not connect: the request was never sent (not executed)
     │   ├─ Timeout                 no answer in time: the call may have run
     │   ├─ ConnectionLost          reset after the request was sent: the call may have run
     │   └─ BadResponse             a non-JSON body (HTML gateway page 502/504, empty body); .status
     ├─ ApiError                    the portal answered the error envelope; .code .description .method .status
     │   ├─ RateLimited             QUERY_LIMIT_EXCEEDED (503): refused, not executed; retryable
     │   ├─ Overloaded              OVERLOAD_LIMIT (503): refused, not executed; retryable
     │   ├─ OperationLimited        OPERATION_TIME_LIMIT (429): method blocked; retry after .retry_after
     │   ├─ ServerError             INTERNAL_SERVER_ERROR / ERROR_UNEXPECTED_ANSWER (500): may have run
     │   ├─ AuthFailed              NO_AUTH_FOUND, invalid_token, authorization_error, PAYMENT_REQUIRED, ...
     │   │   └─ TokenExpired        expired_token: refresh once and retry (OAuth only)
     │   ├─ AccessDenied            ACCESS_DENIED, insufficient_scope, INVALID_CREDENTIALS, WRONG_AUTH_TYPE
     │   ├─ NotFound                NOT_FOUND, ERROR_NOT_FOUND, OWNER_NOT_FOUND, legacy "" + "Not found"
     │   │   └─ MethodNotFound      ERROR_METHOD_NOT_FOUND (404)
     │   ├─ InvalidArgument         ERROR_ARGUMENT, INVALID_ARG_VALUE, 100, CRM_FIELD_ERROR_VALUE_NOT_VALID
     │   ├─ CoreError               ERROR_CORE
     │   ├─ BatchRefused            ERROR_BATCH_LENGTH_EXCEEDED, ERROR_BATCH_METHOD_NOT_ALLOWED
     │   └─ PortalGone              PORTAL_DELETED
     ├─ OAuthError                  the OAuth server refused a grant (invalid_grant, invalid_client, ...)
     ├─ AmbiguousWrite              a create may have run and no lookup key can tell: never retried
     └─ BatchError                  commands of a batch failed; .errors: dict[str, ApiError], .results

The retry loop reads only ``retryable``, ``maybe_executed`` and ``retry_after``; it never looks at
message text. Only the legacy CRM convention of an empty code (``{"error": "", "error_description":
"Not found"}``, bitrix24.md §1.5/§7.1) is classified by its description, through a second table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

__all__ = [
    "ERROR_CLASSES",
    "LEGACY_DESCRIPTION_CLASSES",
    "AccessDenied",
    "AmbiguousWrite",
    "ApiError",
    "AuthFailed",
    "B24Error",
    "BadResponse",
    "BatchError",
    "BatchRefused",
    "ConnectError",
    "ConnectionLost",
    "CoreError",
    "InvalidArgument",
    "MethodNotFound",
    "NotFound",
    "OAuthError",
    "OperationLimited",
    "Overloaded",
    "PortalGone",
    "RateLimited",
    "ServerError",
    "Timeout",
    "TokenExpired",
    "TransportError",
    "api_error",
]


class B24Error(Exception):
    """Base of every error the Bitrix24 client raises."""

    retryable: ClassVar[bool] = False
    #: True when the portal may have executed the call although we saw a failure.
    maybe_executed: ClassVar[bool] = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: Unix time before which a retry is pointless (OPERATION_TIME_LIMIT), if known.
        self.retry_after = retry_after


class TransportError(B24Error):
    retryable = True
    maybe_executed = True


class ConnectError(TransportError):
    maybe_executed = False


class Timeout(TransportError):
    pass


class ConnectionLost(TransportError):
    pass


class BadResponse(TransportError):
    """A body that is not the JSON envelope: an HTML gateway page, an empty or truncated body."""

    def __init__(self, message: str, *, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:500]


class ApiError(B24Error):
    """The portal answered with the error envelope."""

    def __init__(
        self,
        code: str,
        description: str,
        *,
        method: str = "",
        status: int = 400,
        argument: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        where = f"{method}: " if method else ""
        super().__init__(
            f"{where}{code or '<empty code>'} ({status}): {description}", retry_after=retry_after
        )
        self.code = code
        self.description = description
        self.method = method
        self.status = status
        self.argument = argument


class RateLimited(ApiError):
    retryable = True


class Overloaded(ApiError):
    retryable = True


class OperationLimited(ApiError):
    retryable = True


class ServerError(ApiError):
    retryable = True
    maybe_executed = True


class AuthFailed(ApiError):
    pass


class TokenExpired(AuthFailed):
    pass


class AccessDenied(ApiError):
    pass


class NotFound(ApiError):
    pass


class MethodNotFound(NotFound):
    pass


class InvalidArgument(ApiError):
    pass


class CoreError(ApiError):
    pass


class BatchRefused(ApiError):
    pass


class PortalGone(ApiError):
    pass


class OAuthError(B24Error):
    """The OAuth server refused a grant; ``code`` is its ``error`` (``invalid_grant``, ...)."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"OAuth: {code}: {description}")
        self.code = code
        self.description = description


class AmbiguousWrite(B24Error):
    """A non-idempotent write failed in a way that may hide success, and nothing can tell which.

    Raised instead of a blind retry (bitrix24.md §7.4 item 4). ``cause`` is the transport or server
    error; the caller must reconcile (look the entity up) before writing again.
    """

    def __init__(self, method: str, cause: B24Error) -> None:
        super().__init__(f"{method}: outcome unknown after {type(cause).__name__}: {cause}")
        self.method = method
        self.cause = cause


class BatchError(B24Error):
    """Some commands of a batch failed. ``errors`` by command id; ``results`` holds the others."""

    def __init__(self, errors: Mapping[str, ApiError], results: Mapping[str, Any]) -> None:
        names = ", ".join(f"{k}: {v.code or v.description}" for k, v in list(errors.items())[:5])
        super().__init__(f"{len(errors)} batch command(s) failed: {names}")
        self.errors = dict(errors)
        self.results = dict(results)


# One table: code -> class (bitrix24.md §1.5 system errors, §4.3/§4.4 engine codes, §7.3 SDK mappings).
ERROR_CLASSES: Final[Mapping[str, type[ApiError]]] = {
    "QUERY_LIMIT_EXCEEDED": RateLimited,
    "OVERLOAD_LIMIT": Overloaded,
    "OPERATION_TIME_LIMIT": OperationLimited,
    "INTERNAL_SERVER_ERROR": ServerError,
    "ERROR_UNEXPECTED_ANSWER": ServerError,
    "NO_AUTH_FOUND": AuthFailed,
    "expired_token": TokenExpired,
    "invalid_token": AuthFailed,
    "authorization_error": AuthFailed,
    "METHOD_CONFIRM_WAITING": AuthFailed,
    "PAYMENT_REQUIRED": AuthFailed,
    "insufficient_scope": AccessDenied,
    "ACCESS_DENIED": AccessDenied,
    "INVALID_CREDENTIALS": AccessDenied,
    "user_access_error": AccessDenied,
    "WRONG_AUTH_TYPE": AccessDenied,
    "allowed_only_intranet_user": AccessDenied,
    "ERROR_METHOD_NOT_FOUND": MethodNotFound,
    "NOT_FOUND": NotFound,
    "ERROR_NOT_FOUND": NotFound,
    "OWNER_NOT_FOUND": NotFound,
    "ERROR_EVENT_NOT_FOUND": NotFound,
    "ERROR_ARGUMENT": InvalidArgument,
    "INVALID_ARG_VALUE": InvalidArgument,
    "INVALID_REQUEST": InvalidArgument,
    "CRM_FIELD_ERROR_VALUE_NOT_VALID": InvalidArgument,
    "ENTITY_TYPE_NOT_SUPPORTED": InvalidArgument,
    "100": InvalidArgument,
    "ERROR_CORE": CoreError,
    "ERROR_BATCH_LENGTH_EXCEEDED": BatchRefused,
    "ERROR_BATCH_METHOD_NOT_ALLOWED": BatchRefused,
    "PORTAL_DELETED": PortalGone,
}

# Legacy crm.* answer with an empty code and a message only (bitrix24.md §1.5, §4.2, §5.2).
LEGACY_DESCRIPTION_CLASSES: Final[Mapping[str, type[ApiError]]] = {
    "not found": NotFound,
    "entity not found.": NotFound,
    "access denied": AccessDenied,
    "access denied.": AccessDenied,
}

_CODE_CASEFOLD: Final = {code.casefold(): cls for code, cls in ERROR_CLASSES.items()}


def api_error(status: int, body: Mapping[str, Any], *, method: str = "") -> ApiError:
    """Build the typed error for an error envelope.

    Args:
        status: HTTP status of the answer (or 400 for a command inside a batch).
        body: the decoded envelope, ``{"error": ..., "error_description": ...}``.
        method: the REST method called, for the message.

    Returns:
        An instance of the class the code maps to (``ApiError`` when the code is unknown).
    """
    raw_code = body.get("error", "")
    code = "" if raw_code is None else str(raw_code)
    description = str(body.get("error_description") or "")
    cls = _CODE_CASEFOLD.get(code.casefold())
    if cls is None and code == "":
        cls = LEGACY_DESCRIPTION_CLASSES.get(description.strip().casefold())
    if cls is None:
        cls = ApiError
    argument = body.get("argument")
    return cls(
        code, description, method=method, status=status, argument=None if argument is None else str(argument)
    )
