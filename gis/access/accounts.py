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

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, RowMapping

from gis.access import auth
from gis.db.queries import q
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized

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
MIN_PASSWORD_LENGTH = 8
USERNAME = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")  # the account table's CHECK


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


def session_username(who: auth.Principal) -> str:
    """The user name of a session token; Forbidden for a script token (it has no password)."""
    if who.token_id is None or not who.name.startswith(SESSION_PREFIX):
        raise Forbidden("只有登录会话可以修改密码 (only a log-in session has a password to "
                        "change)", code="not_a_session")
    return who.name[len(SESSION_PREFIX):]


def weak_password(username: str, old: str, new: str) -> InvalidInput | None:
    """The policy refusal of ``new`` (``weak_password``), or None when it is acceptable."""
    reason = None
    if len(new) < MIN_PASSWORD_LENGTH:
        reason = (f"新密码至少 {MIN_PASSWORD_LENGTH} 个字符 (at least {MIN_PASSWORD_LENGTH} "
                  "characters)")
    elif new.casefold() == username.casefold():
        reason = "新密码不能与用户名相同 (must not be the user name)"
    elif new == old:
        reason = "新密码不能与旧密码相同 (must differ from the old password)"
    if reason is None:
        return None
    return InvalidInput(f"new_password: {reason}", code="weak_password",
                        details=[{"field": "new_password", "reason": reason}])


def change_password(engine: Engine, who: auth.Principal, old: str, new: str,
                    now: datetime | None = None) -> bool:
    """Change the caller's password (a session); True when changed.

    A wrong old password is ``bad_credentials`` and counts toward the lockout like a failed
    log-in; then the policy (``weak_password``). The account no longer must change its
    password; its other sessions end, this one stays. Neither password is logged.
    """
    username = session_username(who)
    now = now or auth.now_utc()
    weak = weak_password(username, old, new)
    with engine.begin() as conn:
        row = conn.execute(q(SQL, "account_for_login", PKG), {"u": username}).mappings().first()
        if row is None:  # the account went (cannot happen while its session lives)
            refusal: Unauthorized | None = Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
        else:
            refusal = _attempt(conn, row, old, now)
        error = refusal or weak
        if error is None and row is not None:
            conn.execute(q(SQL, "set_password", PKG), {"i": row["id"], "h": hasher().hash(new)})
            conn.execute(q(SQL, "revoke_other_sessions", PKG),
                         {"name": SESSION_PREFIX + username, "keep": who.token_id})
        auth.audit(conn, who, "account.password", f"account:{row['id']}" if row else None,
                   "ok" if error is None else ("denied" if refusal else "refused"),
                   {"code": error.code} if error else {})
    if error is not None:
        raise error
    return True


ACCOUNT_NAMES = ("code", "phone")  # what a roster's new accounts take as user name


@dataclass(frozen=True)
class SkippedWorker:
    """A worker given no account: ``no_phone``, ``bad_username`` or ``username_taken``."""

    worker: str
    reason: str


@dataclass(frozen=True)
class WorkerAccounts:
    """Accounts for workers: how many (made, or in a preview would be), with their one-time
    passwords (none in a preview), and the workers left without one."""

    planned: int
    created: list[OneTimePassword] = field(default_factory=list)
    skipped: list[SkippedWorker] = field(default_factory=list)


def _worker_usernames(conn: Connection, codes: Sequence[str],
                      by: str) -> tuple[list[tuple[str, str]], list[SkippedWorker]]:
    """(user name, worker code) of the workers of ``codes`` with no account, and the skipped."""
    rows = conn.execute(q(SQL, "workers_without_account", PKG), {"codes": list(codes)}).all()
    wanted: dict[str, str] = {}
    skipped: list[SkippedWorker] = []
    for code, phone in rows:
        name = code if by == "code" else "".join((phone or "").split())
        if not name:
            skipped.append(SkippedWorker(code, "no_phone"))
        elif not USERNAME.match(name):
            skipped.append(SkippedWorker(code, "bad_username"))
        elif name in wanted:
            skipped.append(SkippedWorker(code, "username_taken"))
        else:
            wanted[name] = code
    taken = {r[0] for r in conn.execute(q(SQL, "usernames_taken", PKG), {"names": list(wanted)})}
    skipped += [SkippedWorker(wanted[n], "username_taken") for n in sorted(taken)]
    return [(n, c) for n, c in wanted.items() if n not in taken], skipped


def create_worker_accounts(conn: Connection, codes: Sequence[str], by: str = "code",
                           commit: bool = True) -> WorkerAccounts:
    """A grid_worker account with a one-time password for each worker of ``codes`` with none.

    The user name is the worker code (``by="code"``) or the worker's phone (``by="phone"``).
    In the caller's transaction; with ``commit`` False nothing is written or hashed (a
    preview's count). The passwords are returned once, never logged or stored in clear.
    """
    if by not in ACCOUNT_NAMES:
        raise InvalidInput.field("accounts_by", f"must be one of {', '.join(ACCOUNT_NAMES)}",
                                 "unknown_account_name")
    todo, skipped = _worker_usernames(conn, codes, by)
    if not commit:
        return WorkerAccounts(len(todo), [], skipped)
    created = []
    for username, code in todo:
        password = new_password()
        aid = conn.execute(q(SQL, "insert_account", PKG), {
            "u": username, "h": hasher().hash(password), "r": "grid_worker", "a": None,
            "w": code, "d": None}).scalar()
        if aid is None:  # taken meanwhile by another session
            skipped.append(SkippedWorker(code, "username_taken"))
            continue
        auth.audit(conn, auth.SYSTEM, "account.create", f"account:{aid}", "ok",
                   {"role": "grid_worker", "worker": code, "source": "roster"})
        created.append(OneTimePassword(aid, username, password))
    return WorkerAccounts(len(created), created, skipped)
