"""One locate-by-anything: the API, ``wangge locate`` and intake give the same answer."""

from __future__ import annotations

import json

import pytest
import support.territory as T
from typer.testing import CliRunner

from gis.territory.locate import NothingToLocate, Place, PlaceNotFound, locate_place
from gis.territory.locator import Locator
from wangge.cli import app as cli_app

LOCATE = "/api/v1/locate"
EVENTS = "/api/v1/events"


@pytest.fixture()
def three(settings, clean_db, api, monkeypatch):
    """The hand territory with one building, and the three callers: API, CLI, intake."""
    T.load(clean_db)
    T.load_people(clean_db)
    bid = T.insert_building(clean_db, "B-9", "9 Pingjiang Road", 120.602, 31.302)
    api.app.state.locator.refresh(force=True)
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()

    def cli(*args: str):
        return runner.invoke(cli_app, ["locate", *args])

    return api, cli, bid


def _api_error(r) -> dict:
    """The error body of a 422 answer."""
    assert r.status_code == 422, r.text
    return r.json()


def _cli_error(r) -> dict:
    """The error JSON ``wangge locate`` prints on stderr (exit code 2)."""
    assert r.exit_code == 2, r.output
    return json.loads(r.stderr)


def test_an_unknown_building_is_the_same_error_everywhere(three):
    api, cli, _bid = three
    from_api = _api_error(api.get(LOCATE, params={"building_id": "424242"}))
    from_cli = _cli_error(cli("--building-id", "424242"))
    from_intake = _api_error(api.post(EVENTS, json={"item": "safety.fire",
                                                    "building_id": "424242"}))
    assert from_api == from_cli == from_intake == {"error": {
        "code": "unknown_building", "message": "building_id: no building '424242'",
        "details": [{"field": "building_id", "reason": "no such building"}]}}


def test_an_unknown_address_is_the_same_error_and_intake_stores_it_unassigned(three, engine):
    api, cli, _bid = three
    from_api = _api_error(api.get(LOCATE, params={"address": "1 Unknown Lane"}))
    from_cli = _cli_error(cli("--address", "1 Unknown Lane"))
    assert from_api == from_cli == {"error": {
        "code": "unknown_address", "message": "address: no single building has this address",
        "details": [{"field": "address", "reason": "no single building has this address"}]}}
    # intake meets the same typed error and, as documented, keeps the report: unassigned
    with pytest.raises(PlaceNotFound) as e:
        locate_place(Locator(engine), Place(address="1 Unknown Lane"))
    assert e.value.to_dict() == from_api and e.value.method == "address"
    r = api.post(EVENTS, json={"item": "safety.fire", "address": "1 Unknown Lane"})
    assert r.status_code == 201, r.text
    loc = r.json()["location"]
    assert (loc["status"], loc["method"], loc["grid"]) == ("unassigned", "address", None)


@pytest.mark.parametrize("by", ["building_id", "source_id", "address"])
def test_a_known_building_is_the_same_location_everywhere(three, by):
    api, cli, bid = three
    value = {"building_id": str(bid), "source_id": "B-9", "address": "9 PINGJIANG ROAD"}[by]
    key = "address" if by == "address" else "building_id"
    from_api = api.get(LOCATE, params={key: value})
    assert from_api.status_code == 200, from_api.text
    r = cli("--" + key.replace("_", "-"), value)
    assert r.exit_code == 0, r.output
    from_cli = json.loads(r.stdout)
    stored = api.post(EVENTS, json={"item": "safety.fire", key: value})
    assert stored.status_code == 201, stored.text
    from_intake = stored.json()["location"]
    assert from_api.json() == from_cli
    assert {k: v for k, v in from_cli.items() if k != "input"} == from_intake
    assert (from_intake["method"], from_intake["grid"], from_intake["unit"]) == (
        "address" if by == "address" else "building", T.G1, T.U1A)


def test_a_point_is_the_same_location_everywhere(three):
    api, cli, _bid = three
    from_api = api.get(LOCATE, params={"lon": 120.602, "lat": 31.302}).json()
    r = cli("120.602", "31.302")
    assert r.exit_code == 0, r.output
    from_intake = api.post(EVENTS, json={"item": "safety.fire", "lon": 120.602,
                                         "lat": 31.302}).json()["location"]
    assert from_api == json.loads(r.stdout)
    assert {k: v for k, v in from_api.items() if k != "input"} == from_intake
    assert (from_intake["status"], from_intake["unit"]) == ("inside", T.U1A)


def test_nothing_to_locate_by(three, engine):
    api, cli, _bid = three
    from_api = _api_error(api.get(LOCATE))
    assert from_api == _cli_error(cli())
    assert from_api["error"]["code"] == "missing_coordinate"
    with pytest.raises(NothingToLocate):
        locate_place(Locator(engine), Place())
    r = api.post(EVENTS, json={"item": "safety.fire"})
    assert r.status_code == 201 and r.json()["location"]["method"] == "none"
