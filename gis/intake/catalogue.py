"""Event catalogue: classes and items, read from a TOML file a district edits."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, Engine
from typing_extensions import TypedDict  # pydantic (the API's answers) reads it on 3.11

from gis.db.queries import q
from gis.errors import InvalidInput

LEVELS = ("grid", "community", "street", "district")
UNITS = ("h", "wh", "wd")
SQL = "catalogue.sql"
PKG = "gis.intake.sql"


@dataclass(frozen=True)
class Item:
    """One catalogue item."""

    code: str
    class_code: str
    name: str
    name_zh: str | None
    default_level: str
    time_limit_h: float
    position: int
    time_limit_unit: str = "h"


@dataclass(frozen=True)
class EventClass:
    """One catalogue class."""

    code: str
    name: str
    name_zh: str | None
    position: int


class Catalogue(NamedTuple):
    """A parsed catalogue file: its classes and items, in the file's order."""

    classes: list[EventClass]
    items: list[Item]


class ActiveItem(NamedTuple):
    """What intake needs of an active item (``active_items``)."""

    class_code: str
    default_level: str
    time_limit_h: float
    time_limit_unit: str = "h"


class ListedItem(TypedDict):
    """One active event item as the catalogue listing shows it."""

    code: str
    class_code: str
    name: str
    name_zh: str | None
    default_level: str
    time_limit_h: float


class ListedClass(TypedDict):
    """One event class with its active items (``listing``)."""

    code: str
    name: str
    name_zh: str | None
    items: list[ListedItem]


def default_path() -> Path:
    """The catalogue shipped with Wangge."""
    return Path(str(resources.files("gis.data").joinpath("catalogue.toml")))


def parse(path: Path | None = None) -> Catalogue:
    """Read and check a catalogue file; errors name the entry at fault."""
    path = path or default_path()
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"{path}: cannot read catalogue: {e}", code="bad_catalogue") from None
    classes: list[EventClass] = []
    items: list[Item] = []
    seen: set[str] = set()
    for ci, c in enumerate(doc.get("class", [])):
        where = f"{path}: class #{ci + 1}"
        for key in ("code", "name"):
            if not isinstance(c.get(key), str) or not c[key].strip():
                raise InvalidInput(f"{where}: missing '{key}'", code="bad_catalogue")
        if c["code"] in seen:
            raise InvalidInput(f"{where}: duplicate code {c['code']!r}", code="bad_catalogue")
        seen.add(c["code"])
        classes.append(EventClass(c["code"], c["name"], c.get("name_zh"), ci))
        for ii, it in enumerate(c.get("items", [])):
            w = f"{where} ({c['code']}) item #{ii + 1}"
            for key in ("code", "name"):
                if not isinstance(it.get(key), str) or not it[key].strip():
                    raise InvalidInput(f"{w}: missing '{key}'", code="bad_catalogue")
            if it["code"] in seen:
                raise InvalidInput(f"{w}: duplicate code {it['code']!r}", code="bad_catalogue")
            seen.add(it["code"])
            level = it.get("default_level", "grid")
            if level not in LEVELS:
                raise InvalidInput(f"{w}: default_level must be one of {LEVELS}, got {level!r}",
                                   code="bad_catalogue")
            limit = it.get("time_limit_h", 72)
            if not isinstance(limit, int | float) or limit <= 0:
                raise InvalidInput(f"{w}: time_limit_h must be a positive number",
                                   code="bad_catalogue")
            unit = it.get("time_limit_unit", "h")
            if unit not in UNITS:
                raise InvalidInput(f"{w}: time_limit_unit must be one of {UNITS} (h hours, wh "
                                   f"working hours, wd working days), got {unit!r}",
                                   code="bad_catalogue")
            items.append(Item(it["code"], c["code"], it["name"], it.get("name_zh"), level,
                              float(limit), ii, unit))
    if not classes:
        raise InvalidInput(f"{path}: no [[class]] entries", code="bad_catalogue")
    return Catalogue(classes, items)


def load(conn: Connection, path: Path | None = None) -> dict[str, int]:
    """Upsert the catalogue; items no longer in the file are deactivated, never deleted."""
    classes, items = parse(path)
    for c in classes:
        conn.execute(q(SQL, "upsert_class", PKG), c.__dict__)
    before = {r[0] for r in conn.execute(q(SQL, "active_codes", PKG))}
    for it in items:
        conn.execute(q(SQL, "upsert_item", PKG), it.__dict__)
    codes = [it.code for it in items]
    gone = conn.execute(q(SQL, "deactivate_missing", PKG), {"codes": codes}).rowcount
    return {"classes": len(classes), "items": len(items),
            "new_items": len(set(codes) - before), "deactivated": gone}


def active_items(conn: Connection) -> dict[str, ActiveItem]:
    """Active items: code → (class code, default level, time limit in hours)."""
    rows = conn.execute(q(SQL, "active_items", PKG))
    return {r.code: ActiveItem(r.class_code, r.default_level, r.time_limit_h, r.time_limit_unit)
            for r in rows}


def listing(engine: Engine) -> list[ListedClass]:
    """The active catalogue: classes in order, each with its active items."""
    with engine.connect() as conn:
        classes = conn.execute(q(SQL, "listed_classes", PKG)).mappings().all()
        items = conn.execute(q(SQL, "listed_items", PKG)).mappings().all()
    return [dict(c) | {"items": [dict(i) for i in items if i["class_code"] == c["code"]]}
            for c in classes]
