"""The boundary suggestion's pure parts: the local search keeps grids in one piece, codes are
kept or new (never reused), the period counts calendar months in China Standard Time."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from boundaries.suggest import (
    Balanced,
    Graph,
    Spread,
    final_grid_codes,
    local_search,
    months_before,
    next_code,
)
from gis.errors import InvalidInput


def test_local_search_stops_before_a_grid_breaks_or_empties() -> None:
    """A path of four pieces in two grids, the load at one end: one move, both grids whole."""
    g = Graph([np.array([k]) for k in range(4)], np.array([5.0, 1.0, 1.0, 1.0]),
              [{1: 1.0}, {0: 1.0, 2: 1.0}, {1: 1.0, 3: 1.0}, {2: 1.0}])
    label = np.array([0, 0, 1, 1])
    assert local_search(g, label, 2, lref=4.0) == 1
    assert label.tolist() == [0, 1, 1, 1]


def test_local_search_never_cuts_a_grid_in_two() -> None:
    """A ring's middle piece would balance better elsewhere but holds its grid together."""
    # grid 0: pieces 0-1-2 in a row; grid 1: piece 3 touching only piece 1
    g = Graph([np.array([k]) for k in range(4)], np.array([3.0, 3.0, 3.0, 1.0]),
              [{1: 1.0}, {0: 1.0, 2: 1.0, 3: 1.0}, {1: 1.0}, {1: 1.0}])
    label = np.array([0, 0, 0, 1])
    local_search(g, label, 2, lref=4.0)
    assert label.tolist() == [0, 0, 0, 1]


def test_a_grid_keeping_less_than_half_its_units_gets_a_new_code() -> None:
    """Codes kept when a grid keeps half of its units or half of its units are its own;
    else the next never-used one."""
    b = Balanced(["C001", "C002"], np.array([0, 0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 1, 0]),
                 2, False)
    assert final_grid_codes(b, "C", {"C001", "C002", "C003"}) == ["C001", "C002"]
    b.after = np.array([0, 1, 1, 1, 1, 0])  # C001 keeps 1 of 4, but half of what it holds
    assert final_grid_codes(b, "C", {"C001", "C002", "C007"}) == ["C001", "C002"]
    b.after = np.array([1, 1, 1, 1, 0, 0])  # the two swap everything: both are new grids
    assert final_grid_codes(b, "C", {"C001", "C002", "C007"}) == ["C008", "C009"]


def test_next_code_skips_every_code_ever_used() -> None:
    """After the highest used three-digit code; none left after 999."""
    taken = {"G001", "G004", "Gx12", "G0001"}
    assert next_code("G", taken) == "G005" and "G005" in taken
    with pytest.raises(InvalidInput) as e:
        next_code("G", {"G999"})
    assert e.value.code == "codes_exhausted"


def test_the_period_is_calendar_months_in_china_standard_time() -> None:
    """31 May 2026 18:00 UTC is 1 June in Beijing; three months back: 1 March, Beijing."""
    t = months_before(datetime(2026, 5, 31, 18, 0, tzinfo=UTC), 3)
    assert (t.year, t.month, t.day, t.hour) == (2026, 3, 1, 2)
    t = months_before(datetime(2026, 5, 30, 12, 0, tzinfo=UTC), 3)
    assert (t.month, t.day) == (2, 28)  # clamped to February's last day


def test_spread_of_equal_and_uneven_workloads() -> None:
    """max/min and cv: 1 and 0 when equal; None when a grid has no workload."""
    assert Spread.of(np.array([9.0, 9.0])).cv == 0 and Spread.of(np.array([9.0, 9.0])
                                                                ).max_over_min == 1
    s = Spread.of(np.array([0.0, 4.0]))
    assert s.max_over_min is None and s.cv == 1.0
