"""Body limits per endpoint: boundary uploads take files far above the JSON endpoints' limit."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from boundaries.export import feature_collection
from gis.territory import synthetic
from gis.territory.synthetic import load_synthetic

LAYOUT = synthetic.Layout((2, 2), (2, 5), (5, 2), (3, 5))  # 400 grids, 6,000 units


def _export(engine: Engine) -> bytes:
    """The active district's own export, as `wangge boundaries export` writes it."""
    with engine.connect() as c:
        return json.dumps(feature_collection(c), ensure_ascii=False,
                          separators=(",", ":")).encode()


def test_boundary_upload_between_the_two_limits(api, clean_db: Engine, settings) -> None:
    load_synthetic(clean_db, layout=LAYOUT)
    body = _export(clean_db)
    assert settings.max_body_bytes < len(body) < settings.max_upload_bytes
    r = api.post("/api/v1/boundaries", files={"file": ("district.geojson", body)})
    assert r.status_code == 200, r.text[:500]
    rep = r.json()
    assert rep["acceptable"] and not rep["committed"] and rep["stats"]["units"] == 6000
    # the JSON endpoints keep the small limit
    r = api.post("/api/v1/events", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "body_too_large"


def test_boundary_upload_over_its_own_limit_is_refused(clean_db: Engine, settings) -> None:
    from gis.access import auth
    from wangge.app import create_app

    small = settings.model_copy(update={"max_upload_bytes": 3_000_000})
    app = create_app(small, listen=False)
    token = auth.create_token(clean_db, "district_centre", name="tests")["token"]
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        r = client.post("/api/v1/boundaries",
                        files={"file": ("big.geojson", b" " * 3_100_000 + b"{}")})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "body_too_large" and "3000000" in err["message"]
