"""Users of the fake portal: ``user.get``, ``user.current`` and a helper to add employees.

No I/O. Semantics of the real ``user.get`` (scope ``user``; ``user_basic`` is enough for e-mails):
the filter goes in ``FILTER`` (``filter`` is accepted too), keys are user fields (``ID``, ``EMAIL``,
``ACTIVE``, ``NAME``, ``LAST_NAME``, ``UF_DEPARTMENT``...), ``sort``/``order`` name one field and a
direction, 50 users per page with ``start``, ``total`` and ``next``. Ids come back as strings,
``ACTIVE`` as a boolean. ``EMAIL`` compares case-insensitively (the portal keeps logins' e-mails
lower-case). There is no separate work e-mail field: a user's e-mail is ``EMAIL``.

Seeded with the portal's administrator (id 1) by :func:`ensure_users`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from b24_bridge.fake.query import PAGE
from b24_bridge.fake.registry import Call, Result, method
from b24_bridge.fake.store import RestError, Table, param, to_int

if TYPE_CHECKING:
    from b24_bridge.fake.portal import FakePortal

__all__ = ["USER_FIELDS", "add_user", "ensure_users"]

USER_FIELDS: Final = (
    "ID",
    "XML_ID",
    "ACTIVE",
    "EMAIL",
    "NAME",
    "LAST_NAME",
    "SECOND_NAME",
    "WORK_POSITION",
    "WORK_PHONE",
    "UF_DEPARTMENT",
    "USER_TYPE",
)


def _table(portal: FakePortal) -> Table:
    tables = portal.state.tables
    if "user" not in tables:
        tables["user"] = Table("user")
        tables["user"].insert(
            {
                "EMAIL": f"admin@{portal.config.domain}",
                "NAME": "Администратор",
                "LAST_NAME": "",
                "SECOND_NAME": "",
                "ACTIVE": True,
                "WORK_POSITION": "",
                "UF_DEPARTMENT": [1],
                "USER_TYPE": "employee",
            },
            id_key="ID",
        )
    return tables["user"]


def ensure_users(portal: FakePortal) -> Table:
    """The user table (created with the administrator, id 1, on first use)."""
    return _table(portal)


def add_user(
    portal: FakePortal,
    *,
    email: str,
    name: str = "",
    last_name: str = "",
    active: bool = True,
    position: str = "",
) -> int:
    """An employee added in the portal's UI; returns the user id."""
    row = _table(portal).insert(
        {
            "EMAIL": email,
            "NAME": name,
            "LAST_NAME": last_name,
            "SECOND_NAME": "",
            "ACTIVE": active,
            "WORK_POSITION": position,
            "UF_DEPARTMENT": [1],
            "USER_TYPE": "employee",
        },
        id_key="ID",
    )
    return int(row["ID"])


def _view(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: row.get(key) for key in USER_FIELDS if key in row}
    out["ID"] = str(row["ID"])
    out["ACTIVE"] = bool(row.get("ACTIVE"))
    out.setdefault("XML_ID", None)
    return out


def _matches(row: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    for raw_key, wanted in flt.items():
        key = str(raw_key).upper().lstrip("=")
        value = row.get(key)
        if key == "ID":
            ids = wanted if isinstance(wanted, list) else [wanted]
            if to_int(value) not in {to_int(v) for v in ids}:
                return False
        elif key == "ACTIVE":
            truthy = str(wanted).strip().upper() in ("Y", "TRUE", "1")
            if bool(value) != truthy:
                return False
        elif key == "EMAIL":
            if str(value or "").casefold() != str(wanted or "").strip().casefold():
                return False
        elif key not in USER_FIELDS:
            continue  # the real method ignores unknown filter keys
        elif isinstance(value, list):
            if to_int(wanted) not in value:
                return False
        elif str(value or "") != str(wanted or ""):
            return False
    return True


@method("user.get", scope="user")
def user_get(call: Call) -> Result:
    flt = param(call.params, "FILTER")
    if flt is None:
        flt = {k: v for k, v in call.params.items() if str(k).upper() in USER_FIELDS}
    if not isinstance(flt, Mapping):
        raise RestError("INVALID_FILTER", "Filter must be an object")
    rows = [r for r in _table(call.portal) if _matches(r, flt)]
    sort = str(param(call.params, "sort") or "ID").upper()
    descending = str(param(call.params, "order") or "ASC").upper() == "DESC"
    rows.sort(key=lambda r: str(r.get(sort) or "") if sort != "ID" else f"{r['ID']:012d}", reverse=descending)
    start = max(0, to_int(param(call.params, "start")))
    page = rows[start : start + PAGE]
    following = start + PAGE if start + PAGE < len(rows) else None
    return Result([_view(r) for r in page], len(rows), following)


@method("user.current", scope="basic")
def user_current(call: Call) -> dict[str, Any]:
    row = _table(call.portal).get(call.auth.user_id)
    if row is None:
        raise RestError("NOT_FOUND", "User not found")
    return _view(row)
