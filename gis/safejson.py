"""JSON from outside, checked before and after parsing: nesting depth, NUL and lone surrogates.

The nesting depth is measured on the raw bytes (strings removed, brackets counted) *before*
``json.loads``, so a document nested thousands deep never reaches the recursive parser or the
code walking the result. Strings holding U+0000 or a lone surrogate are refused because
PostgreSQL cannot store them (text and jsonb refuse ``\\u0000``; UTF-8 has no surrogates).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_OPENING = b"[{"
_FEW = 200
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00")


class JSONRefused(ValueError):
    """The document is refused: ``field`` (a JSON path) and ``reason``."""

    def __init__(self, field: str, reason: str, code: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.code = field, reason, code


def depth(raw: bytes) -> int:
    """Deepest nesting of arrays and objects in ``raw`` (outside strings); 0 for a scalar."""
    marks = _STRING.sub(b"", raw).translate(None, _BRACKETS)
    if len(marks) <= _FEW:  # a report or a small batch: a loop beats numpy's set-up
        d = deepest = 0
        for m in marks:
            d += 1 if m in _OPENING else -1
            deepest = max(deepest, d)
        return deepest
    a = np.frombuffer(marks, dtype=np.uint8)
    steps = np.where((a == ord("[")) | (a == ord("{")), 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max())


def check_depth(raw: bytes, max_depth: int = MAX_DEPTH, field: str = "body") -> None:
    """JSONRefused when ``raw`` nests deeper than ``max_depth``."""
    d = depth(raw)
    if d > max_depth:
        raise JSONRefused(field, f"JSON nested {d} levels deep; at most {max_depth} allowed",
                          "too_deep")


def bad_text(s: str) -> str | None:
    """Why PostgreSQL cannot store ``s`` (a NUL or a lone surrogate), or None."""
    if "\x00" in s:
        return "contains a NUL character (\\u0000)"
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def find_bad_string(doc: Any, path: str = "") -> tuple[str, str] | None:
    """(JSON path, reason) of the first key or string value PostgreSQL cannot store."""
    stack: list[tuple[str, Any]] = [(path, doc)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            if (why := bad_text(v)) is not None:
                return where or "body", why
        elif isinstance(v, dict):
            for k, child in v.items():
                sub = f"{where}.{k}" if where else str(k)
                if (why := bad_text(k)) is not None:
                    return sub.encode("utf-8", "backslashreplace").decode().replace(
                        "\x00", "\\u0000"), "field name " + why
                stack.append((sub, child))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(v))
    return None


def suspect(raw: bytes) -> bool:
    """Whether ``raw`` may hold a string PostgreSQL cannot store (cheap pre-check)."""
    return _SUSPECT.search(raw) is not None


def check_strings(doc: Any, path: str = "") -> None:
    """JSONRefused naming the first string PostgreSQL cannot store."""
    bad = find_bad_string(doc, path)
    if bad is not None:
        raise JSONRefused(bad[0], bad[1], "bad_text")


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` after the depth check, then the string check; JSONRefused / ValueError."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    check_depth(data, max_depth)
    doc = json.loads(raw)
    if suspect(data):
        check_strings(doc)
    return doc
