"""Chinese names of the synthetic district's areas and people (gis.territory.names)."""

from __future__ import annotations

from gis.territory import names, synthetic


def test_numerals() -> None:
    """Street numbers in Chinese numerals, as people write them."""
    assert [names.numeral(n) for n in (1, 9, 10, 11, 20, 21, 99)] == [
        "一", "九", "十", "十一", "二十", "二十一", "九十九"]


def test_synthetic_district_is_named_in_chinese() -> None:
    """Streets, communities, grids, units, workers and leaders: 第一街道, 1-1社区, 1-1-1网格,
    最小单元003, 网格员…."""
    areas = synthetic.generate()
    by = {a.code: a.name for a in areas}
    assert by["320508001"] == "第一街道" and by["320508002"] == "第二街道"
    assert by["320508001001"] == "1-1社区" and by["320508001001001"] == "1-1-1网格"
    assert by["320508001001001003"] == "最小单元003"  # the unit's code ends in its number
    people = {r.worker_code: r.name for r in synthetic.roster(areas)}
    assert people["W320508001001001"] == "网格员001001001"
    assert people["L320508001001"] == "网格长001001"
    assert not any(n.isascii() for n in list(by.values()) + list(people.values()))
