"""The district calendar: working hours across evenings, weekends, holidays and 调休 days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gis import calendar
from gis.calendar import add_working_days, add_working_hours, working_hours_between
from gis.clock import CST
from gis.errors import InvalidInput

CAL = calendar.load(None)


def cst(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """An aware China Standard Time."""
    return datetime(y, mo, d, h, mi, tzinfo=CST)


def test_friday_evening_plus_two_hours_is_monday_morning() -> None:
    # Fri 2026-12-04 17:00–17:30 = 0.5 h; Mon 12-07 08:30 + 1.5 h = 10:00
    assert add_working_hours(cst(2026, 12, 4, 17), 2, CAL) == cst(2026, 12, 7, 10)


def test_lunch_break_is_skipped() -> None:
    # Thu 11:00–12:00 = 1 h, 13:30 + 1 h = 14:30
    assert add_working_hours(cst(2026, 12, 3, 11), 2, CAL) == cst(2026, 12, 3, 14, 30)


def test_before_opening_starts_at_opening() -> None:
    assert add_working_hours(cst(2026, 12, 3, 6), 1, CAL) == cst(2026, 12, 3, 9, 30)


def test_holiday_is_skipped() -> None:
    # Wed 2026-09-30 17:00 + 1 h: 0.5 h that day; 10-01..10-07 国庆 off (10-03/04 weekend too);
    # Thu 10-08 08:30 + 0.5 h
    assert add_working_hours(cst(2026, 9, 30, 17), 1, CAL) == cst(2026, 10, 8, 9)


def test_tiaoxiu_saturday_is_a_working_day() -> None:
    # Fri 2026-02-13 17:00 + 1 h: 0.5 h that day, Sat 02-14 is 调休上班: 08:30 + 0.5 h
    assert CAL.is_working_day(cst(2026, 2, 14).date())
    assert add_working_hours(cst(2026, 2, 13, 17), 1, CAL) == cst(2026, 2, 14, 9)


def test_weekend_holiday_and_tiaoxiu_in_one_limit() -> None:
    # Fri 2026-02-13 16:00 + 16 wh: Fri 1.5 h, Sat 02-14 (调休) 7.5 h, 02-15..23 春节 off,
    # Tue 02-24 7 h left: 08:30–12:00 3.5 h, 13:30 + 3.5 h = 17:00
    assert add_working_hours(cst(2026, 2, 13, 16), 16, CAL) == cst(2026, 2, 24, 17)


def test_one_working_day() -> None:
    # the end of the next working day: Fri → Mon 17:30; before 春节, Fri 02-13 → Sat 02-14
    assert add_working_days(cst(2026, 12, 4, 10), 1, CAL) == cst(2026, 12, 7, 17, 30)
    assert add_working_days(cst(2026, 2, 13, 10), 1, CAL) == cst(2026, 2, 14, 17, 30)
    assert add_working_days(cst(2026, 2, 14, 10), 1, CAL) == cst(2026, 2, 24, 17, 30)


def test_working_hours_between() -> None:
    assert working_hours_between(cst(2026, 12, 4, 17), cst(2026, 12, 7, 10), CAL) == 2
    assert working_hours_between(cst(2026, 12, 7, 10), cst(2026, 12, 4, 17), CAL) == -2
    assert working_hours_between(cst(2026, 12, 5, 9), cst(2026, 12, 6, 18), CAL) == 0


def test_utc_input_is_computed_in_cst() -> None:
    # 09:00 UTC = 17:00 CST on Friday
    out = add_working_hours(datetime(2026, 12, 4, 9, tzinfo=UTC), 2, CAL)
    assert out == cst(2026, 12, 7, 10) and out.utcoffset() is not None


def test_bad_file_is_refused() -> None:
    with pytest.raises(InvalidInput):
        calendar.parse({"hours": [["12:00", "08:00"]]})
    with pytest.raises(InvalidInput):
        calendar.parse({"holidays": ["2026-13-01"]})


def test_due_at_by_unit() -> None:
    start = cst(2026, 12, 4, 16)
    assert calendar.due_at(start, 8, "h", CAL) == cst(2026, 12, 5, 0)
    assert calendar.due_at(start, 8, "wh", CAL) == cst(2026, 12, 7, 16, 30)
    assert calendar.due_at(start, 2, "wd", CAL) == cst(2026, 12, 8, 17, 30)


def test_the_district_calendar_is_the_one_the_given_settings_name(tmp_path, monkeypatch) -> None:
    """``district(settings)`` reads the file of the settings it is given, not the
    environment's (which names another calendar here), and gis.calendar reads no settings."""
    import ast
    from pathlib import Path

    from gis.settings import Settings

    mine = tmp_path / "mine.toml"
    mine.write_text('hours = [["09:00", "11:00"]]\nweekend = []\n', encoding="utf-8")
    monkeypatch.setenv("WANGGE_CALENDAR_FILE", str(calendar.default_path()))
    cal = calendar.district(Settings(calendar_file=str(mine)))
    assert cal.periods == ((datetime.strptime("09:00", "%H:%M").time(),
                            datetime.strptime("11:00", "%H:%M").time()),)
    assert calendar.district(Settings(calendar_file=None)) == CAL
    tree = ast.parse(Path(calendar.__file__).read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert "get_settings" not in names and "Settings" not in {
        n.func.id for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


# Calls that compute due times, and the delivery code that makes them: each passes the
# district calendar of its own settings (cal=...), as create_app(settings) does.
DUE_CALLS = {"ingest", "transition", "escalate_overdue"}
DELIVERY = ("gis/api", "gis/cli", "gis/intake/resident.py", "gis/intake/open311.py",
            "dashboard")


def _calls_without_cal(path) -> list[str]:
    """``name:line`` of each call of a DUE_CALLS function in ``path`` without a calendar."""
    import ast

    out = []
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(n, ast.Call):
            continue
        fn = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
        args = [*n.args, *(k.value for k in n.keywords)]
        via_pool = fn == "run_in_threadpool" and args and isinstance(args[0], ast.Attribute)
        name = args[0].attr if via_pool else fn
        if name in DUE_CALLS and not any(k.arg == "cal" for k in n.keywords):
            out.append(f"{name}:{n.lineno}")
    return out


def test_every_delivery_call_that_sets_due_times_passes_the_district_calendar() -> None:
    """The API, the CLI, the resident intake and the dashboard pass ``cal`` to intake,
    transitions and the overdue sweep (else the shipped calendar would be used silently)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [p for d in DELIVERY for p in sorted((root / d).rglob("*.py"))
             if (root / d).is_dir()] + [root / d for d in DELIVERY if (root / d).is_file()]
    missing = {str(p.relative_to(root)): c for p in files if (c := _calls_without_cal(p))}
    assert missing == {}
