"""CQL2-text filters (OGC API – Features Part 3) as SQL clauses with bound parameters.

pygeofilter parses the text and turns the tree into SQLAlchemy expressions; every literal
becomes a bound parameter. Only the collection's queryables (and ``geometry``) may be named.
"""

from __future__ import annotations

from typing import Any

from pygeofilter import ast
from pygeofilter.backends.sqlalchemy.evaluate import to_filter
from pygeofilter.parsers.cql2_text import parse
from sqlalchemy.sql.elements import ColumnElement

from gis.errors import BadQueryParameter
from gis.interop.collections import Collection

FIELD = "filter"


def _names(node: Any) -> set[str]:
    """Every attribute name a parsed filter uses."""
    if isinstance(node, ast.Attribute):
        return {node.name}
    found: set[str] = set()
    for child in getattr(node, "get_sub_nodes", lambda: [])() or []:
        found |= _names(child)
    return found


def _parse(text: str) -> Any:
    """The filter's syntax tree; a syntax error says where."""
    try:
        return parse(text)
    except Exception as e:  # lark's errors name the column of the fault
        reason = str(e).splitlines()[0][:200]
        raise BadQueryParameter.field(
            FIELD, f"CQL2 过滤条件无法解析 (malformed CQL2 filter): {reason}",
            code="invalid_filter") from None


def to_clause(text: str, coll: Collection, f: Any) -> ColumnElement:
    """The SQL condition of a CQL2-text filter over the columns of subquery ``f``."""
    tree = _parse(text)
    mapping = {p: f.c[p] for p in coll.properties} | {"geometry": f.c.geom}
    unknown = sorted(_names(tree) - set(mapping))
    if unknown:
        raise BadQueryParameter.field(
            FIELD, f"不可查询的属性 (not queryable): {', '.join(unknown)}; 可查询 (queryables): "
            f"{', '.join(mapping)}", code="invalid_filter")
    try:
        return to_filter(tree, mapping, undefined_as_null=False)
    except (KeyError, NotImplementedError, TypeError, ValueError) as e:
        raise BadQueryParameter.field(
            FIELD, f"不支持的 CQL2 表达式 (unsupported CQL2 expression): {e}",
            code="invalid_filter") from None
