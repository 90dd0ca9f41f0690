"""Binary COPY rows (etl.copybin) round-trip through the server exactly."""

from __future__ import annotations

import math

import pandas as pd
from sqlalchemy import text
from support.etl import boxes

from etl import buildings as bld
from etl.common import Report


def test_every_kind_of_value_round_trips(clean_db) -> None:
    """Text with quotes, tabs, newlines and CJK; missing values; ints, floats, booleans and
    dates in the properties; floors and heights with gaps: stored as given."""
    g = boxes(6)
    names = ['楼 "A"\t1\n', None, "", "x\\y", "é", None]
    g["name"] = names
    g["floors"] = [1, None, 0, 299, 5, None]
    g["height"] = [3.25, None, 0.0, 1e-9, 999.5, None]
    g["flag"] = [True, False, None, True, True, False]
    g["built"] = pd.to_datetime(["2001-02-03", None, "1999-12-31T23:59:59", None, None, None],
                                format="ISO8601")
    g["ratio"] = [0.1, math.nan, 2.5, 1e21, -3.0, 7.0]
    g["tag"] = ['a"b', "c\\d", "中文", None, "\u2028", "x"]
    r = Report("buildings", "x")
    prepared = bld.prepare(g, r, id_field="bid")
    assert bld.load_frame(clean_db, prepared, "t", r).inserted == 6
    with clean_db.connect() as c:
        rows = {x.source_id: x for x in c.execute(text(
            "SELECT source_id, name, floors, height_m, properties FROM building"))}
    want_props = [
        {"flag": True, "built": "2001-02-03T00:00:00.000", "ratio": 0.1, "tag": 'a"b'},
        {"flag": False, "built": None, "ratio": None, "tag": "c\\d"},
        {"flag": None, "built": "1999-12-31T23:59:59.000", "ratio": 2.5, "tag": "中文"},
        {"flag": True, "built": None, "ratio": 1e21, "tag": None},
        {"flag": True, "built": None, "ratio": -3.0, "tag": "\u2028"},
        {"flag": False, "built": None, "ratio": 7.0, "tag": "x"},
    ]
    for i in range(6):
        x = rows[f"B{i}"]
        assert x.name == (None if names[i] is None else names[i].strip())
        assert x.floors == (None if pd.isna(g.loc[i, "floors"]) else int(g.loc[i, "floors"]))
        assert x.height_m == (None if pd.isna(g.loc[i, "height"]) else g.loc[i, "height"])
        assert x.properties == want_props[i], (i, x.properties)
