"""POST /api/v1/boundaries: the same core as the CLI, behind a multipart upload."""

from __future__ import annotations

import json

from gis.territory.synthetic import load_synthetic


def test_upload_preview_commit_list_rollback(api, clean_db) -> None:
    """Upload a file: report; commit=true activates it; list; export; rollback."""
    gen = load_synthetic(clean_db)
    fc = api.get(f"/api/v1/boundaries/{gen}/geojson").json()
    assert len(fc["features"]) == 331
    body = json.dumps(fc).encode()
    r = api.post("/api/v1/boundaries", files={"file": ("city.geojson", body, "application/json")})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["acceptable"] and not rep["committed"] and rep["file"] == "city.geojson"
    r = api.post("/api/v1/boundaries?commit=true",
                 files={"file": ("city.geojson", body, "application/json")})
    assert r.status_code == 200 and r.json()["committed"], r.text
    new = r.json()["generation"]
    gens = api.get("/api/v1/boundaries").json()
    assert [g["status"] for g in gens] == ["retired", "active"] and gens[1]["id"] == new
    r = api.post("/api/v1/boundaries/rollback?commit=true")
    assert r.status_code == 200 and r.json()["generation"] == gen


def test_upload_blocked_and_unreadable(api, clean_db) -> None:
    """Blocking problems and unreadable files answer 422 with the report."""
    bad = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "level": "grid", "code": "320508001001001"}, "geometry": {"type": "Point",
                                                                  "coordinates": [120.6, 31.3]}}]}
    r = api.post("/api/v1/boundaries",
                 files={"file": ("b.geojson", json.dumps(bad).encode(), "application/json")})
    assert r.status_code == 422
    checks = {p["check"] for p in r.json()["problems"]}
    assert {"wrong_type", "missing_parent"} <= checks
    r = api.post("/api/v1/boundaries",
                 files={"file": ("b.geojson", b'{"type": "Polgon"}', "application/json")})
    assert r.status_code == 422 and r.json()["exit_code"] == 2
    assert "Polgon" in r.json()["error"]
    r = api.post("/api/v1/boundaries", files={"file": ("b.txt", b"x", "text/plain")})
    assert r.status_code == 422


def test_blocked_upload_answers_grouped_problems_with_the_cause_first(api, clean_db) -> None:
    """A grid renamed in the file while its units keep the old code as parent: the 422 body's
    groups start with one renamed_code line carrying every missing_parent row."""
    gen = load_synthetic(clean_db)
    fc = api.get(f"/api/v1/boundaries/{gen}/geojson").json()
    grid = next(f for f in fc["features"] if f["properties"]["level"] == "grid")
    old = grid["properties"]["code"]
    grid["properties"]["code"] = old[:-3] + "999"
    units = sum(f["properties"]["parent_code"] == old for f in fc["features"])
    r = api.post("/api/v1/boundaries", files={"file": ("renamed.geojson",
                                                       json.dumps(fc).encode(),
                                                       "application/json")})
    assert r.status_code == 422, r.text
    body = r.json()
    first = body["groups"][0]
    assert first["check"] == "renamed_code" and first["severity"] == "error"
    assert first["items"][0]["consequences"] == {"missing_parent": units} and units > 1
    assert first["title"].startswith("编码被改")
    assert "missing_parent" not in {g["check"] for g in body["groups"]}
    assert sum(p["check"] == "missing_parent" for p in body["problems"]) == units
    assert all(p["cause"] == f"renamed_code:{old}" for p in body["problems"]
               if p["check"] == "missing_parent")
