"""Editing a draft in an OGC API – Features client (Part 4): OWSLib creates, replaces and
deletes units of the open draft; the draft then goes through the file import's validation,
preview and commit; the active generation is never writable."""

from __future__ import annotations

import json

import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import text
from support.apiserver import api_process
from support.workflow import G1, bearer

from boundaries.drafts import import_draft
from gis.interop import drafts

COMMUNITY = "320508001001"


def _unit(client, code: str) -> dict:
    """A unit of the draft as a GeoJSON Feature."""
    r = client.get(f"/ogc/collections/draft_units/items/{code}")
    assert r.status_code == 200, r.text
    return r.json()


def _first_unit(engine) -> str:
    """The first unit code of grid G1."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT min(code) FROM unit WHERE grid_code = :g"),
                            {"g": G1}).scalar()


def test_owslib_edits_the_draft_and_the_import_commits_it(settings, client, engine) -> None:
    """Create, replace and delete through OWSLib; the renamed unit is active after commit."""
    gen = drafts.new_draft(engine, "test")
    code = _first_unit(engine)
    planner = bearer(engine, "planner", name="qgis")
    feat = _unit(client, code)
    with api_process(settings) as base:
        api = Features(base + "/ogc", headers=dict(planner))
        new = {"type": "Feature", "geometry": feat["geometry"],
               "properties": {"code": G1 + "900", "name": "新单元", "grid_code": G1}}
        assert api.collection_item_create("draft_units", json.dumps(new))
        renamed = {**feat, "properties": {**feat["properties"], "name": "改名的单元"}}
        renamed.pop("links", None)
        assert api.collection_item_update("draft_units", code, json.dumps(renamed))
        assert api.collection_item("draft_units", G1 + "900")["properties"]["name"] == "新单元"
        assert api.collection_item_delete("draft_units", G1 + "900")
    assert client.get(f"/ogc/collections/draft_units/items/{G1}900").status_code == 404
    preview = import_draft(engine)
    assert preview.exit_code == 0 and not preview.report["committed"]
    assert client.get(f"/ogc/collections/units/items/{code}").json()["properties"][
        "name"] != "改名的单元"
    done = import_draft(engine, commit=True, actor="test")
    assert done.report["committed"]
    assert client.get(f"/ogc/collections/units/items/{code}").json()["properties"][
        "name"] == "改名的单元"
    with engine.connect() as conn:
        assert drafts.open_draft(conn) is None
        assert conn.execute(text("SELECT status FROM generation WHERE id = :g"),
                            {"g": gen}).scalar() == "discarded"


def test_a_unit_overlapping_its_neighbour_blocks_the_draft_import(client, engine) -> None:
    """The draft goes through the file import's checks: a copied unit overlaps."""
    drafts.new_draft(engine)
    feat = _unit(client, _first_unit(engine))
    new = {"type": "Feature", "geometry": feat["geometry"],
           "properties": {"code": G1 + "901", "grid_code": G1}}
    r = client.post("/ogc/collections/draft_units/items", json=new)
    assert r.status_code == 201 and r.headers["location"].endswith(f"/draft_units/items/{G1}901")
    result = import_draft(engine, commit=True)
    assert result.exit_code == 1 and not result.report["committed"]
    assert result.report["counts"]["error"] >= 1


@pytest.mark.parametrize(("method", "url", "status"), [
    ("POST", "/ogc/collections/grids/items", 405),
    ("PUT", f"/ogc/collections/units/items/{G1}001", 405),
    ("DELETE", f"/ogc/collections/grids/items/{G1}", 405),
])
def test_the_active_generation_is_never_writable(client, engine, method, url, status) -> None:
    """Only the draft layers take writes."""
    drafts.new_draft(engine)
    r = client.request(method, url, json={"type": "Feature"})
    assert r.status_code == status, r.text
    assert client.options(url.rsplit("/items", 1)[0] + "/items").headers["allow"] == \
        "GET, HEAD, OPTIONS"


def test_writes_need_a_planner_and_an_open_draft_and_a_good_feature(client, engine) -> None:
    """A dispatcher is refused; without a draft 404; bad features 400 naming the field."""
    shape = client.get(f"/ogc/collections/units/items/{_first_unit(engine)}").json()["geometry"]
    body = {"type": "Feature", "geometry": shape,
            "properties": {"code": G1 + "902", "grid_code": G1}}
    assert client.post("/ogc/collections/draft_units/items", json=body).status_code == 404
    drafts.new_draft(engine)
    body["geometry"] = {"type": "Point", "coordinates": [120, 31]}
    h = bearer(engine, "community_dispatcher", COMMUNITY)
    assert client.post("/ogc/collections/draft_units/items", json=body,
                       headers=h).status_code == 403
    r = client.post("/ogc/collections/draft_units/items", json=body)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "geometry"
    body["geometry"] = shape
    body["properties"]["grid_code"] = "320508999999999"
    r = client.post("/ogc/collections/draft_units/items", json=body)
    assert r.status_code == 400 and "code" in r.json()["error"]["details"][0]["field"]
    assert client.delete(f"/ogc/collections/draft_grids/items/{G1}").status_code == 409
    assert client.options("/ogc/collections/draft_units/items").headers["allow"].endswith("POST")
