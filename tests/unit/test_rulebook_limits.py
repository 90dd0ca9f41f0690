"""Dispatch-rule time limits carry their own unit (h, wh, wd), never the item's."""

from __future__ import annotations

from pathlib import Path

import pytest

from gis import rulebook
from gis.calendar import TimeLimit
from gis.errors import InvalidInput

RULES = """
[limits]
unit = "wd"
grid = 1
community = 2

[[rule]]
class = "dispute"
time_limit_h = { street = 6 }
time_limit_unit = "wh"

[[rule]]
item = "dispute.family"
time_limit_h = { community = 12 }
"""


def _rules(tmp_path: Path, text: str = RULES) -> rulebook.Rules:
    """The rules of ``text`` read from a file."""
    f = tmp_path / "rules.toml"
    f.write_text(text, encoding="utf-8")
    return rulebook.parse(f)


def test_each_limit_comes_in_its_own_declared_unit(tmp_path: Path) -> None:
    """Item rule (clock hours by default), the catalogue's at the default level (the item's
    unit), a class rule in working hours, [limits] in its declared unit."""
    r = _rules(tmp_path)
    own = TimeLimit(3, "wd")
    lim = {lv: r.limit("dispute.family", "dispute", lv, "grid", own)
           for lv in ("grid", "community", "street", "district")}
    assert lim == {"grid": (3, "wd"), "community": (12, "h"), "street": (6, "wh"),
                   "district": (72, "wd")}
    assert r.to_dict()["limits_unit"] == "wd"
    assert [x["time_limit_unit"] for x in r.to_dict()["rules"]] == ["wh", "h"]


def test_an_unknown_unit_is_refused_naming_the_rule(tmp_path: Path) -> None:
    """time_limit_unit = "days" in rule #1 and unit = "min" in [limits] are refused."""
    with pytest.raises(InvalidInput, match=r"rule #1: time_limit_unit must be one of h, wh, wd"):
        _rules(tmp_path, RULES.replace('"wh"', '"days"'))
    with pytest.raises(InvalidInput, match=r"\[limits\]"):
        _rules(tmp_path, RULES.replace('unit = "wd"', 'unit = "min"'))


def test_rules_are_read_again_once_the_file_changes(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """rules(): the parsed file is reused while its time stamp holds (looked at once every
    RECHECK_S), and read again once it changed."""
    import os

    f = tmp_path / "rules.toml"
    f.write_text(RULES, encoding="utf-8")
    first = rulebook.rules(f)
    assert rulebook.rules(f) is first
    f.write_text(RULES.replace("community = 2", "community = 3"), encoding="utf-8")
    os.utime(f, (1_000_000_000, 1_000_000_000))
    assert rulebook.rules(f) is first  # not looked at again within RECHECK_S
    monkeypatch.setattr(rulebook, "RECHECK_S", 0.0)
    again = rulebook.rules(f)
    assert again is not first
    assert rulebook.rules(f) is again  # same time stamp: the same rules
