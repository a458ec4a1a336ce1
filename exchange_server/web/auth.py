"""Who may see ``/admin/`` and ``/metrics``: a login page with a session cookie, or HTTP Basic.

The same operator credentials as ``/api`` (``CML_ADMIN_USER`` / ``CML_ADMIN_PASSWORD``). A browser
without a session is sent to ``/admin/login``; anything else gets ``401`` with a Basic challenge.
Every unsafe request (POST ...) must carry the form field ``csrf_token`` bound to its session (or,
for Basic clients, to the user) and, when the browser sends one, an ``Origin`` of this host. Every
response of these paths carries the security headers. Passwords are checked against their scrypt hash
by :class:`exchange_server.logins.Logins`, with its lockout after repeated failures (the login page then
says so, a Basic client gets ``429``). Cookies are HttpOnly, SameSite=Strict, and Secure over TLS or
with ``CML_HTTPS``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import quote, urlsplit

from aiohttp import web

from exchange_server.admin import SETTINGS
from exchange_server.commands import decode_basic
from exchange_server.errors import AuthError
from exchange_server.logins import LOGINS, Verdict
from exchange_server.settings import Settings
from exchange_server.web import security

__all__ = [
    "ADMIN_PREFIX",
    "CSRF_BINDING",
    "CSRF_FIELD",
    "LOGIN_PATH",
    "SESSION_COOKIE",
    "admin_guard",
    "csrf_for",
    "login_form",
    "login_submit",
    "logout",
    "signing_key_of",
]

ADMIN_PREFIX: Final = "/admin"
LOGIN_PATH: Final = "/admin/login"
LOGOUT_PATH: Final = "/admin/logout"
STATIC_PREFIX: Final = "/admin/static/"
METRICS_PATH: Final = "/metrics"
SESSION_COOKIE: Final = "cml_admin"
LOGIN_COOKIE: Final = "cml_admin_login"
CSRF_FIELD: Final = "csrf_token"
REALM: Final = 'Basic realm="cml-exchange admin", charset="UTF-8"'
UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSRF_BINDING = web.RequestKey("cml_csrf_binding", str)
ADMIN_USER = web.RequestKey("cml_admin_user", str)

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


MSG_LOCKED: Final = "Too many failed logins; try again later."


def signing_key_of(settings: Settings) -> bytes:
    return security.signing_key(settings.admin_user, settings.admin_signing_secret)


def _secure(request: web.Request, settings: Settings) -> bool:
    return request.secure or settings.https


async def _basic_user(request: web.Request) -> tuple[str | None, Verdict]:
    try:
        auth = decode_basic(request.headers.get("Authorization"))
    except AuthError:
        return None, Verdict(ok=False)
    if auth is None:
        return None, Verdict(ok=False)
    logins = request.app[LOGINS]
    verdict = await logins.check(request, logins.admin, auth[0], auth[1], where="admin (Basic)")
    return (auth[0] if verdict.ok else None), verdict


def _guarded(path: str, settings: Settings) -> bool:
    if path == METRICS_PATH:
        return not settings.metrics_public
    if path == LOGIN_PATH or path.startswith(STATIC_PREFIX):
        return False
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None  # an opaque origin ("null") is never ours
    return urlsplit(origin).netloc == request.host


def _unauthorised(request: web.Request) -> web.StreamResponse:
    wants_page = request.method == "GET" and "text/html" in request.headers.get("Accept", "")
    if wants_page and request.path.startswith(ADMIN_PREFIX):
        raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}")
    return web.Response(status=401, text="authentication required\n", headers={"WWW-Authenticate": REALM})


async def _check_csrf(request: web.Request, key: bytes, binding: str) -> None:
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-origin form refused\n")
    token: str | None = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not security.csrf_valid(key, binding, token):
        raise web.HTTPForbidden(text="missing or invalid CSRF token; reload the page and try again\n")


def _with_headers(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@web.middleware
async def admin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate ``/admin/`` and ``/metrics``; CSRF-check unsafe requests; add security headers."""
    path = request.path
    if not (path == METRICS_PATH or path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")):
        return await handler(request)
    try:
        if _guarded(path, request.app[SETTINGS]):
            settings = request.app[SETTINGS]
            key = signing_key_of(settings)
            session = security.read_session(key, request.cookies.get(SESSION_COOKIE))
            if session is not None and session.user == settings.admin_user:
                request[ADMIN_USER], request[CSRF_BINDING] = session.user, "s:" + session.nonce
            else:
                user, verdict = await _basic_user(request)
                if user is None:
                    if verdict.locked:
                        return _with_headers(web.Response(status=429, text=MSG_LOCKED + "\n"))
                    return _with_headers(_unauthorised(request))
                request[ADMIN_USER], request[CSRF_BINDING] = user, "b:" + user
            if request.method in UNSAFE:
                await _check_csrf(request, key, request[CSRF_BINDING])
        return _with_headers(await handler(request))
    except web.HTTPException as exc:
        _with_headers(exc)
        raise


def csrf_for(request: web.Request) -> str:
    """The CSRF token for forms of this page's viewer."""
    return security.csrf_token(signing_key_of(request.app[SETTINGS]), request[CSRF_BINDING])


# --- login / logout ------------------------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    # Only local admin paths: never an open redirect ("//evil", "https://...", "/\\evil").
    if not value or not value.startswith(ADMIN_PREFIX) or value.startswith(LOGIN_PATH):
        return ADMIN_PREFIX + "/"
    if "\\" in value or "//" in value or any(ord(c) < 32 for c in value):
        return ADMIN_PREFIX + "/"
    return value


LoginPage = Callable[[web.Request, str, str, str | None, int], web.Response]


def login_form(page: LoginPage) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
        token = security.csrf_token(signing_key_of(request.app[SETTINGS]), "l:" + nonce)
        response = page(request, token, _safe_next(request.query.get("next")), None, 200)
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            path=LOGIN_PATH,
            httponly=True,
            samesite="Strict",
            secure=_secure(request, request.app[SETTINGS]) or None,
        )
        return response

    return handler


def login_submit(page: LoginPage) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        settings: Settings = request.app[SETTINGS]
        key = signing_key_of(settings)
        form = await request.post()
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        token = form.get(CSRF_FIELD)
        target = _safe_next(str(form.get("next", "")))
        if (
            not _same_origin(request)
            or not nonce
            or not security.csrf_valid(key, "l:" + nonce, token if isinstance(token, str) else None)
        ):
            fresh = security.csrf_token(key, "l:" + nonce) if nonce else ""
            return page(request, fresh, target, "The form expired; please try again.", 403)
        user, password = str(form.get("user", "")), str(form.get("password", ""))
        logins = request.app[LOGINS]
        verdict = await logins.check(request, logins.admin, user, password, where="admin login form")
        if not verdict.ok:
            message, status = (MSG_LOCKED, 429) if verdict.locked else ("Wrong user or password.", 401)
            return page(request, security.csrf_token(key, "l:" + nonce), target, message, status)
        response = web.HTTPSeeOther(target)
        response.set_cookie(
            SESSION_COOKIE,
            security.issue_session(key, user),
            path=ADMIN_PREFIX,
            httponly=True,
            samesite="Strict",
            secure=_secure(request, settings) or None,
            max_age=security.SESSION_SECONDS,
        )
        response.del_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
        raise response

    return handler


async def logout(request: web.Request) -> web.StreamResponse:
    """``POST /admin/logout`` (CSRF-checked by the guard): forget the session cookie."""
    response = web.HTTPSeeOther(LOGIN_PATH)
    response.del_cookie(SESSION_COOKIE, path=ADMIN_PREFIX)
    raise response
