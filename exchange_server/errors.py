"""Errors of the exchange server. Each carries the text 1C gets back on the ``failure`` line.

No I/O here. The tree (after h11's Local/Remote split, STYLE.md §2.7)::

    ExchangeError                   .reply_text: line 2 of the "failure" answer 1C shows its user
     ├─ ProtocolError
     │   ├─ RemoteProtocolError     1C sent a type/mode that is unknown or illegal in this state
     │   └─ LocalProtocolError      we tried to answer something illegal: a bug on our side
     ├─ AuthError                   bad credentials, unknown or missing session, wrong sessid
     ├─ UploadError                 bad file name, interrupted body, broken or hostile zip archive
     └─ ImportFailed                the importer could not load a file (wraps CommerceML/database errors)

Messages that tests assert on are module constants (Russian: 1C shows them in its exchange log).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AUTH_FAILED",
    "BAD_PARAMETER",
    "IMPORT_BEFORE_UPLOAD",
    "NO_SESSION",
    "SESSION_POISONED",
    "UNKNOWN_MODE",
    "UNKNOWN_TYPE",
    "AuthError",
    "ExchangeError",
    "ImportFailed",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "UploadError",
]

# Bitrix's own texts where one exists (protocol.md §3.1, §2, §3.8), so 1C administrators see
# what they already know from 1C-Bitrix.
AUTH_FAILED: Final = "Ошибка авторизации. Неверное имя пользователя или пароль."
UNKNOWN_TYPE: Final = "Unknown command type."
UNKNOWN_MODE: Final = "Неизвестная команда."
NO_SESSION: Final = "Сессия обмена не найдена. Начните обмен заново (checkauth)."
SESSION_POISONED: Final = "Обмен прерван после ошибки, начните его заново (checkauth)."
IMPORT_BEFORE_UPLOAD: Final = "Файл для импорта не найден: {name}"
BAD_PARAMETER: Final = "Недопустимое значение параметра {name}."


class ExchangeError(Exception):
    """Base of every error of the exchange server.

    Args:
        reply_text: what 1C shows its user after ``failure`` (short, Russian, actionable).
        detail: extra data for the journal and logs (not sent to 1C).
    """

    def __init__(self, reply_text: str, *, detail: str | None = None) -> None:
        super().__init__(reply_text)
        self.reply_text = reply_text
        self.detail = detail

    def __str__(self) -> str:
        if self.detail:
            return f"{self.reply_text} ({self.detail})"
        return self.reply_text


class ProtocolError(ExchangeError):
    """A violation of the exchange protocol, by 1C (remote) or by us (local)."""


class RemoteProtocolError(ProtocolError):
    """1C sent a type or mode that is unknown, or not allowed in the session's state."""


class LocalProtocolError(ProtocolError):
    """We tried to produce an answer the protocol does not allow: a bug in the server."""


class AuthError(ExchangeError):
    """Bad credentials, a missing or unknown session cookie, or a ``sessid`` that does not match."""


class UploadError(ExchangeError):
    """A ``mode=file`` upload or an archive cannot be accepted; nothing of it was kept."""


class ImportFailed(ExchangeError):
    """A file could not be imported. Raised ``from`` the CommerceML or database error behind it."""
