"""Log-in of the dashboard: the same accounts and session tokens as the API (gis.access)."""

from __future__ import annotations

import streamlit as st

from dashboard import data, i18n, ui
from gis.access import accounts, auth
from gis.access.auth import Principal
from gis.errors import InvalidInput, Unauthorized

KEY = "wg_token"
MESSAGES = {  # message ids of the core catalogue
    "bad_credentials": "wrong user name or password",
    "account_locked": "account locked, try again later",
    "account_disabled": "account disabled",
    "password_change_required": "change your initial password first",
}


def _engine():
    """The engine of the configured database."""
    return data._engine(data.database_url())


def scope_of(who: Principal) -> tuple[str, ...] | None:
    """The code prefixes ``who`` may see (None: everything), the API's rule (gis.access.scope)."""
    prefixes = who.scope_prefixes
    return None if prefixes is None else tuple(prefixes)


def current() -> Principal | None:
    """The logged-in principal, its token checked again on every run (revoked: logged out)."""
    token = st.session_state.get(KEY)
    if not token:
        return None
    try:
        return auth.authenticate(_engine(), token)
    except Unauthorized:
        st.session_state.pop(KEY, None)
        return None


def logout() -> None:
    """Revoke the session token and forget it."""
    who = current()
    if who is not None:
        accounts.logout(_engine(), who)
    st.session_state.pop(KEY, None)


def _message(e: Unauthorized | InvalidInput) -> str:
    """The message of a refusal in the current language (no password or token in it)."""
    return i18n.t(MESSAGES[e.code]) if e.code in MESSAGES else str(e)


def _login_form() -> None:
    """User name and password; on success the session token is kept in the session state."""
    st.title(f"{i18n.t('Wangge command centre')} · {i18n.t('Log in')}")
    with st.form("wg_login"):
        username = st.text_input(i18n.t("User name"), key="wg_username")
        password = st.text_input(i18n.t("Password"), type="password", key="wg_password")
        ok = st.form_submit_button(i18n.t("Log in"))
    if ok:
        try:
            s = accounts.login(_engine(), username.strip(), password)
        except Unauthorized as e:
            st.error(_message(e))
            return
        st.session_state[KEY] = s.token
        st.rerun()


def _change_password(who: Principal) -> None:
    """The first log-in: the initial password must be changed before anything is shown."""
    st.warning(i18n.t(MESSAGES["password_change_required"]))
    with st.form("wg_change"):
        old = st.text_input(i18n.t("Current password"), type="password", key="wg_old")
        new = st.text_input(i18n.t("New password"), type="password", key="wg_new")
        ok = st.form_submit_button(i18n.t("Change password"))
    if ok:
        try:
            accounts.change_password(_engine(), who, old, new)
        except (Unauthorized, InvalidInput) as e:
            st.error(_message(e))
            return
        st.rerun()


def require_login() -> Principal:
    """The logged-in principal; shows the log-in form and stops the page until there is one."""
    i18n.switch()  # in the sidebar, the log-in page's too
    if KEY not in st.session_state and not data.ping(data.database_url()):
        ui.database_down("no connection")
        st.stop()
    try:
        who = current()
    except Exception as e:  # the database went away between two runs
        ui.database_down(type(e).__name__)
        st.stop()
    if who is None:
        _login_form()
        st.stop()
    if who.must_change_password:
        _change_password(who)
        st.stop()
    sb = st.sidebar
    role = i18n.role_label(who.role)
    sb.caption(f"{who.name.removeprefix(accounts.SESSION_PREFIX) or role} · {role}"
               + (f" · {', '.join(who.areas)}" if who.areas else ""))
    sb.button(i18n.t("Log out"), key="wg_logout", on_click=logout)
    return who
