"""Languages of the dashboard: gettext catalogues read with Babel, Chinese first.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/<domain>.po`` holds the Chinese, one
domain per part of the dashboard (core, workbench, alerts, basemap, calendar). The .po files
are read at run time (no build step) and cached until they change on disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import streamlit as st
from babel.messages.pofile import read_po

from gis.clock import CST, aware
from gis.intake.vocabulary import LEVEL_ZH, STATUS_ZH, zh
from gis.territory.generations import GRID_KIND_ZH
from gis.territory.people import ROLE_ZH

LOCALE = Path(__file__).resolve().parent / "locale"
KEY = "wg_lang"
LANGS = {"zh": "中文", "en": "EN"}
DEFAULT = "zh"
_FIXED: ContextVar[str | None] = ContextVar("wg_lang_fixed", default=None)


@lru_cache(maxsize=32)
def _catalogue(domain: str, mtime: float) -> dict[str, str]:
    """The translated messages of one domain's Chinese catalogue (``mtime``: cache key)."""
    path = LOCALE / "zh_CN" / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        cat = read_po(f, locale="zh_CN", domain=domain)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def messages(domain: str) -> dict[str, str]:
    """The Chinese messages of ``domain`` (empty when it has no catalogue yet)."""
    path = LOCALE / "zh_CN" / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return {}
    return _catalogue(domain, path.stat().st_mtime)


def lang() -> str:
    """The current language: ``zh`` (default) or ``en``."""
    if _FIXED.get() is not None:
        return str(_FIXED.get())
    try:
        value = st.session_state.get(KEY, DEFAULT)
    except Exception:  # outside a Streamlit run
        value = DEFAULT
    return value if value in LANGS else DEFAULT


def gettext(domain: str, msgid: str, **params: object) -> str:
    """``msgid`` in the current language, ``{name}`` placeholders filled from ``params``."""
    text = messages(domain).get(msgid, msgid) if lang() == "zh" else msgid
    return text.format(**params) if params else text


def domain(name: str) -> Callable[..., str]:
    """The translation function ``t(msgid, **params)`` of one catalogue domain."""
    def t(msgid: str, **params: object) -> str:
        """``msgid`` in the current language."""
        return gettext(name, msgid, **params)
    return t


t = domain("core")


def bound(fn: Callable[[str], str]) -> Callable[[str], str]:
    """``fn`` fixed to the current language, for a widget's ``format_func`` (Streamlit may call
    it outside the page's run, where the session state is not at hand)."""
    fixed = lang()

    def call(value: str) -> str:
        """``fn(value)`` in the language of the run that made the widget."""
        tok = _FIXED.set(fixed)
        try:
            return fn(value)
        finally:
            _FIXED.reset(tok)
    return call


def switch() -> None:
    """The EN / 中文 switch in the sidebar (kept in the session state)."""
    st.session_state.setdefault(KEY, DEFAULT)
    st.sidebar.radio("语言 / Language", list(LANGS), key=KEY, horizontal=True,
                     format_func=LANGS.__getitem__)


def TZ_LABEL() -> str:  # noqa: N802 (the contract's name)
    """The name of the time zone shown beside times."""
    return t("China Standard Time")


def fmt_time(dt: datetime | None) -> str:
    """``2026-12-04 18:30`` in China Standard Time ('' for none)."""
    if dt is None or dt != dt:  # None, or pandas' NaT (a worker who never patrolled)
        return ""
    return aware(dt).astimezone(CST).strftime("%Y-%m-%d %H:%M")


def status_label(status: str) -> str:
    """An event status for people (the Chinese: gis.intake.vocabulary, shared with exports)."""
    return zh(STATUS_ZH, status) if lang() == "zh" else status.replace("_", " ")


def role_label(role: str) -> str:
    """A role for people: a worker's role (gis.territory.people) or an account's (catalogue)."""
    if lang() != "zh":
        return role.replace("_", " ")
    return ROLE_ZH[role] if role in ROLE_ZH else t(f"role:{role}")


def roles_label(roles: str | None) -> str:
    """``"full_time 3205…, grid_leader 3205…"`` with each role named for people."""
    return re.sub(r"\b[a-z][a-z_]*\b", lambda m: role_label(m.group()), roles or "")


def kind_label(kind: str | None) -> str:
    """A grid kind for people (gis.territory.generations.GRID_KIND_ZH)."""
    return zh(GRID_KIND_ZH, kind) if lang() == "zh" else (kind or "").replace("_", " ")


def level_label(level: str) -> str:
    """An area level (grid, community, street, district) for people (gis.intake.vocabulary)."""
    return zh(LEVEL_ZH, level) if lang() == "zh" else level


def item_label(code: str, name: str | None, name_zh: str | None) -> str:
    """An event item or class: its Chinese name in Chinese, its English name in English."""
    if lang() == "zh":
        return name_zh or name or code
    return name or name_zh or code
