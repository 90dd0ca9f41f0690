"""Every GeoJSON schema fixture: invalid/ rejected with a clear message, valid/ accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from boundaries import geojson
from boundaries.model import UnreadableFile
from boundaries.reader import read

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "data" / "geojson-fixtures"
INVALID = sorted((FIXTURES / "invalid").glob("*/*.json"))
VALID = sorted((FIXTURES / "valid").glob("*/*.json"))


def test_fixtures_present() -> None:
    """The shared fixtures are there (36 invalid, 30 valid)."""
    assert len(INVALID) == 36 and len(VALID) == 30


@pytest.mark.parametrize("path", INVALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_invalid_rejected(path: Path) -> None:
    """Structural validation fails and the reader refuses the file with the reason."""
    errors = geojson.check(json.loads(path.read_text()))
    assert errors
    with pytest.raises(UnreadableFile, match="not valid GeoJSON: \\$"):
        read(path, level="grid")


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_accepted(path: Path) -> None:
    """Structural validation passes; polygon files read into polygon geometries."""
    assert geojson.check(json.loads(path.read_text())) == []
    src = read(path, level="grid")
    if path.parent.name in ("polygon", "multipolygon"):
        (f,) = src.features
        assert f.geom.geom_type in ("Polygon", "MultiPolygon")
        assert f.geom.is_valid and not f.geom.is_empty and not f.ring_problems


def test_not_json_is_unreadable(tmp_path: Path) -> None:
    """Garbage is unreadable, with the parser's reason."""
    p = tmp_path / "x.geojson"
    p.write_text("{nope")
    with pytest.raises(UnreadableFile, match="not valid JSON"):
        read(p)
