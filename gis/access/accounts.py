"""Accounts of people: user name + Argon2id password, log-in to a session token, lockout.

A session is an API token (``gis.access.auth.create_token``) of the account's role, area,
worker and department, named ``session:<username>`` and expiring after ``SESSION_HOURS``:
every endpoint accepts it, and log-out revokes it (script tokens stay). Wrong password and
unknown user name get the same answer (``bad_credentials``); after ``MAX_FAILURES`` failures
in a row the account is locked for ``LOCK_MINUTES``. A locked or disabled account is named as
such only to someone who gave its right password (no user enumeration). Passwords and tokens
are never logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, RowMapping

from gis.access import auth
from gis.db.queries import q
from gis.errors import Conflict, NotFound, Unauthorized

SQL = "accounts.sql"
PKG = "gis.access.sql"
SESSION_HOURS = 12
MAX_FAILURES = 5
LOCK_MINUTES = 15
# one-time passwords: no look-alike characters (0/O, 1/l/I), easy to type on a phone
ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
PASSWORD_LENGTH = 12
SESSION_PREFIX = "session:"
BAD_CREDENTIALS = "wrong user name or password (用户名或密码错误)"


@dataclass(frozen=True)
class OneTimePassword:
    """A new or reset account and its initial password, shown once."""

    id: int
    username: str
    password: str


@dataclass(frozen=True)
class Session:
    """A log-in: the session token (shown once) and what it carries."""

    token: str
    token_id: int
    expires_at: datetime
    username: str
    role: str
    area: str | None
    worker: str | None
    department: str | None
    must_change_password: bool


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    """The Argon2id hasher (argon2-cffi's recommended parameters)."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash verified for unknown user names, so they take as long as known ones."""
    return hasher().hash(secrets.token_urlsafe(16))


def new_password() -> str:
    """A random one-time password."""
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def _verify(stored: str, password: str) -> bool:
    """True when ``password`` matches the Argon2id hash ``stored``."""
    try:
        return hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def create_account(engine: Engine, username: str, role: str, area: str | None = None,
                   worker: str | None = None, department: str | None = None) -> OneTimePassword:
    """A new account with a one-time password (must be changed); role rules as for tokens."""
    password = new_password()
    with engine.begin() as conn:
        auth.check_grant(conn, role, area, worker, department)
        aid = conn.execute(q(SQL, "insert_account", PKG), {
            "u": username, "h": hasher().hash(password), "r": role, "a": area, "w": worker,
            "d": department}).scalar()
        if aid is None:
            raise Conflict("this user name is taken", code="username_taken")
        auth.audit(conn, auth.SYSTEM, "account.create", f"account:{aid}", "ok",
                   {"role": role, "area": area, "worker": worker, "department": department})
    return OneTimePassword(aid, username, password)


def reset_password(engine: Engine, username: str) -> OneTimePassword:
    """A new one-time password for ``username``; the lock is lifted, live sessions revoked."""
    password = new_password()
    with engine.begin() as conn:
        aid = conn.execute(q(SQL, "reset_password", PKG),
                           {"u": username, "h": hasher().hash(password)}).scalar()
        if aid is None:
            raise NotFound("no such account", code="account_not_found")
        conn.execute(q(SQL, "revoke_sessions", PKG), {"name": SESSION_PREFIX + username})
        auth.audit(conn, auth.SYSTEM, "account.reset", f"account:{aid}", "ok", {})
    return OneTimePassword(aid, username, password)


def disable_account(engine: Engine, username: str) -> int:
    """Disable ``username`` and revoke its live sessions; the account id."""
    with engine.begin() as conn:
        aid = conn.execute(q(SQL, "disable_account", PKG), {"u": username}).scalar()
        if aid is None:
            raise NotFound("no such account", code="account_not_found")
        conn.execute(q(SQL, "revoke_sessions", PKG), {"name": SESSION_PREFIX + username})
        auth.audit(conn, auth.SYSTEM, "account.disable", f"account:{aid}", "ok", {})
    return aid


def _check_password(engine: Engine, username: str, password: str, now: datetime) -> dict:
    """The account row when the password is right; failures counted, refusals raised."""
    with engine.begin() as conn:
        row = conn.execute(q(SQL, "account_for_login", PKG), {"u": username}).mappings().first()
        if row is None:
            _verify(_dummy_hash(), password)  # the same time as a known user name
            refusal: Unauthorized | None = Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
            target = None
        else:
            refusal = _attempt(conn, row, password, now)
            target = f"account:{row['id']}"
        auth.audit(conn, None, "session.login", target, "denied" if refusal else "ok",
                   {"code": refusal.code} if refusal else {})
    if refusal is not None:
        raise refusal
    return dict(row)


def _attempt(conn: Connection, row: RowMapping, password: str,
             now: datetime) -> Unauthorized | None:
    """One attempt on a known account: None when it may log in, else the refusal."""
    ok = _verify(row["password_hash"], password)
    locked = row["locked_until"] is not None and row["locked_until"] > now
    if not ok:
        if not locked:
            conn.execute(q(SQL, "login_failed", PKG), {
                "i": row["id"], "n": MAX_FAILURES,
                "until": now + timedelta(minutes=LOCK_MINUTES)})
        return Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    if locked:
        return Unauthorized("account locked after too many failed log-ins; try again later "
                            "(账号已锁定，请稍后再试)", code="account_locked")
    if row["disabled"]:
        return Unauthorized("account disabled (账号已停用)", code="account_disabled")
    rehash = hasher().check_needs_rehash(row["password_hash"])
    conn.execute(q(SQL, "login_ok", PKG), {
        "i": row["id"], "h": hasher().hash(password) if rehash else None})
    return None


def login(engine: Engine, username: str, password: str,
          now: datetime | None = None) -> Session:
    """A session token for the right password; Unauthorized otherwise (see the module)."""
    now = now or auth.now_utc()
    row = _check_password(engine, username, password, now)
    expires = max(now, auth.now_utc()) + timedelta(hours=SESSION_HOURS)
    tok = auth.create_token(engine, row["role"], row["area_code"], row["worker_code"],
                            name=SESSION_PREFIX + username, expires_at=expires,
                            department=row["department"])
    return Session(tok["token"], tok["id"], expires, username, row["role"], row["area_code"],
                   row["worker_code"], row["department"], row["must_change_password"])


def logout(engine: Engine, who: auth.Principal) -> bool:
    """Revoke the caller's session token; True when it was live.

    Only session tokens end so: a script token (``wangge token create``) stays, revoked by
    ``wangge token revoke`` alone; for it the answer is False.
    """
    if who.token_id is None or not who.name.startswith(SESSION_PREFIX):
        return False
    return auth.revoke_token(engine, who.token_id)
