"""The area-scope rule, once: who may see which events (street, community, grid codes nest).

In SQL the rule is the function ``in_scope(code, prefixes)`` (migration 0006), which every
query that filters by area calls with the prefixes built here; ``in_scope`` below is its
Python twin for one event already read (tests/test_scope_rule.py checks that they agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from gis.errors import Forbidden

# Roles that see every event, and roles that see none by area (a department sees the events
# it was notified of, a rule of the read scope, not of areas).
EVERYWHERE = ("district_centre",)
NOWHERE = ("planner", "department")

Prefixes = list[str] | None  # None: everything; []: nothing


def in_scope(code: str | None, prefixes: Sequence[str] | None) -> bool:
    """True when ``code`` starts with one of ``prefixes`` (None: everything, even no code)."""
    if prefixes is None:
        return True
    return code is not None and any(code.startswith(p) for p in prefixes)


def prefixes_of(role: str, areas: Sequence[str]) -> Prefixes:
    """The code prefixes a role acting on ``areas`` may see (the one place that builds them)."""
    if role in EVERYWHERE:
        return None
    if role in NOWHERE:
        return []
    return list(areas)


def area_prefixes(area: str | None) -> Prefixes:
    """The prefixes of one chosen area filter (street, community or grid code; none: all)."""
    return [area] if area else None


def report_area(role: str, areas: Sequence[str], area: str | None) -> str | None:
    """The one area a report (assessment, coverage, reminders) is limited to, asked for by
    ``role`` acting on ``areas``: the centre any (None: all), others within their own
    (their only area by default); Forbidden for planners, departments and outside areas."""
    if role in EVERYWHERE:
        return area
    if role == "planner":
        raise Forbidden("planners work on boundaries, not on the workflow", code="wrong_role")
    if role == "department":
        raise Forbidden("departments see their notifications (GET /api/v1/dispatches)",
                        code="wrong_role")
    if area is None:
        if len(areas) == 1:
            return areas[0]
        raise Forbidden("give an area code inside your area", code="area_required")
    if not in_scope(area, prefixes_of(role, areas)):
        raise Forbidden(f"{area} is outside your area", code="outside_area")
    return area
