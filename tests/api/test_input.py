"""Unchecked input that once answered 500 (issue 11 §3): each is a 422 naming the field and the
reason; times are parsed in one place (gis.clock, naive = UTC+8); a crash answers 500 JSON and
keeps the connection; every error status is in the OpenAPI document."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from support.workflow import G1, W1, track
from typer.testing import CliRunner

from gis import clock
from gis.errors import InvalidInput

DEEP = "[" * 100_000 + "]" * 100_000


def _field(r, field: str, reason: str) -> None:
    """A 422 whose details name ``field`` with a reason containing ``reason``."""
    assert r.status_code == 422, r.text[:300]
    details = r.json()["error"]["details"]
    assert any(d["field"] == field and reason in d["reason"] for d in details), details


@pytest.mark.parametrize(("url", "field", "reason"), [
    ("/api/v1/events?grid=a%00b", "grid", "NUL"),
    ("/api/v1/locate?address=x%00", "address", "NUL"),
    ("/api/v1/grids/320508%00001001001", "code", "NUL"),
    ("/api/v1/events?until=2026-01-01T00:00:00-16:31", "until", "±15:59"),
    ("/api/v1/events?since=2026-01-01T00:00:00%2B16:00", "since", "±15:59"),
    ("/api/v1/events?cursor=9223372036854775808", "cursor", "9223372036854775807"),
    ("/api/v1/events/9223372036854775808", "event_id", "9223372036854775807"),
    ("/api/v1/grids/320508001001001?generation=3000000000", "generation", "2147483647"),
    ("/api/v1/boundaries/3000000000/geojson", "generation", "2147483647"),
    ("/api/v1/patrols/unvisited?days=99999999999", "days", "36500"),
    ("/api/v1/reports/assessment?month=0000-07", "month", "year"),
    ("/api/v1/patrols/due?day=9999-12-31", "day", "2999-12-31"),
    ("/api/v1/escalation/overdue?now=2026-01-01T00:00:00-16:31", "now", "±15:59"),
    ("/api/v1/audit?since=0001-01-01T00:00:00", "since", "1900-01-01"),
    ("/api/v1/dispatches?department=police%00", "department", "NUL"),
])
def test_query_and_path_values_that_were_500s(api, demo_district, url, field, reason) -> None:
    """NUL, offsets beyond ±15:59, integers past their column, year 0 / 9999: 422."""
    _field(api.get(url), field, reason)


def test_body_values_that_were_500s(api, demo_district) -> None:
    """NUL in a field or a key, lone surrogates, bad offsets, too-deep JSON: 422, nothing stored."""
    report = {"item": "safety.fire", "lon": 120.6, "lat": 31.3}
    _field(api.post("/api/v1/events", json={**report, "description": "a\x00b"}),
           "description", "NUL")
    _field(api.post("/api/v1/events", json={"events": [report, {**report, "reporter": "\x00"}]}),
           "events[1].reporter", "NUL")
    _field(api.post("/api/v1/events", json={**report, "extra": {"k\x00": 1}}),
           "extra.k\\u0000", "NUL")
    _field(api.post("/api/v1/events", content=b'{"item": "safety.fire", "address": "\\ud800"}',
                    headers={"content-type": "application/json"}), "address", "surrogate")
    _field(api.post("/api/v1/events", json={**report, "reported_at": "2026-01-01T00:00:00-16:31"}),
           "reported_at", "±15:59")
    _field(api.post("/api/v1/events", content=DEEP.encode(),
                    headers={"content-type": "application/json"}), "body", "nested")
    _field(api.post("/api/v1/events", content=b'{"a":' * 5000 + b"1" + b"}" * 5000,
                    headers={"content-type": "text/plain"}), "body", "nested")
    _field(api.post("/api/v1/events/1/transitions",
                    json={"action": "accept", "original_id": 2**63}), "original_id", "less")
    _field(api.post("/api/v1/patrols", json={"worker": W1, "points": [
        {"lon": 120.6, "lat": 31.3, "t": "2026-01-01T00:00:00"},
        {"lon": 120.6, "lat": 31.3, "t": "0000-01-01T00:00:00"}]}), "points[1].t", "")
    with api.app.state.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event")).scalar() == 0


def test_boundary_upload_deep_or_nul_geojson(api, clean_db) -> None:
    """A boundary file nested thousands deep, or with NUL in a property: 422 unreadable."""
    r = api.post("/api/v1/boundaries",
                 files={"file": ("deep.geojson", DEEP.encode(), "application/json")})
    assert r.status_code == 422 and r.json()["exit_code"] == 2, r.text[:300]
    assert "nested" in r.json()["error"]
    nul = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "code": "320508", "name": "a\x00"}, "geometry": None}]}
    r = api.post("/api/v1/boundaries", files={"file": ("n.geojson", json.dumps(nul).encode(),
                                                       "application/json")})
    assert r.status_code == 422 and r.json()["exit_code"] == 2, r.text[:300]
    assert "features[0].properties.name" in r.json()["error"]


def test_coverage_with_one_naive_and_one_aware_time(api, demo_district, engine) -> None:
    """Naive = UTC+8: the same period given naive, aware or mixed gives the same answer."""
    from gis.territory.locator import Locator

    t0 = datetime(2026, 11, 5, 9, 0, tzinfo=clock.CST)
    track(engine, Locator(engine), W1, G1 + "001", t0)
    answers = []
    for since, until in [("2026-11-05T08:00:00", "2026-11-05T10:00:00+08:00"),
                         ("2026-11-05T00:00:00Z", "2026-11-05T10:00:00"),
                         ("2026-11-05T08:00:00+08:00", "2026-11-05T02:00:00Z")]:
        r = api.get("/api/v1/patrols/coverage", params={"since": since, "until": until})
        assert r.status_code == 200, r.text[:300]
        answers.append((r.json()["visited"], r.json()["until"]))
    assert answers[0][0] == 1 and answers[1][0] == 1 and answers[2][0] == 1
    assert answers[0][1] == answers[1][1] == "2026-11-05T10:00:00+08:00"
    # the same track is outside a naive period read as UTC (08:00Z = 16:00 CST)
    r = api.get("/api/v1/patrols/coverage",
                params={"since": "2026-11-05T08:00:00Z", "until": "2026-11-05T10:00:00Z"})
    assert r.json()["visited"] == 0


def test_clock_parses_every_time_the_same_way() -> None:
    """gis.clock: naive → UTC+8; offsets within ±15:59; years 1900-2999; months 01-12."""
    assert clock.parse_iso("2026-01-01T08:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.parse_iso("2026-01-01T00:00:00-15:59").utcoffset() == -timedelta(hours=15,
                                                                                  minutes=59)
    for bad, why in [("2026-01-01T00:00:00-16:31", "±15:59"), ("0000-07-01", "ISO"),
                     ("9999-12-31T23:59:59", "2999"), ("yesterday", "ISO")]:
        with pytest.raises(InvalidInput) as e:
            clock.parse_time(bad, "since")
        assert e.value.details[0]["field"] == "since" and why in e.value.details[0]["reason"]
    assert clock.month_bounds("2026-12")[1] == datetime(2027, 1, 1, tzinfo=clock.CST)
    for bad in ("0000-07", "2026-13", "26-01", "3000-01"):
        with pytest.raises(InvalidInput):
            clock.month_bounds(bad)
    from gis.api import schemas
    from gis.oversight import assessment, coverage

    assert coverage.CST is schemas.CST is clock.CST  # one definition of China Standard Time
    with pytest.raises(InvalidInput):
        assessment.month_bounds("0000-07")


@pytest.fixture()
def cli(settings, demo_district, monkeypatch):
    """Run ``wangge`` against the test database."""
    from wangge.cli import app

    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_cli_times_and_deep_files(cli, tmp_path) -> None:
    """Commands parse times like the API; bad input is one line and an exit code, never a
    traceback; an unreadable (too deep) boundary file exits 2."""
    deep = tmp_path / "deep.geojson"
    deep.write_text(DEEP)
    r = cli("boundaries", "import", deep)
    assert r.exit_code == 2, r.output
    assert "nested" in r.output and "Traceback" not in r.output
    r = cli("patrols", "coverage", "--since", "2026-11-05T00:00:00",
            "--until", "2026-11-06T00:00:00+08:00")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["since"].endswith("+08:00")
    for args, field in [(("report", "assessment", "--month", "0000-07"), "month"),
                        (("events", "overdue", "--now", "2026-01-01T00:00:00-16:31"), "now"),
                        (("patrols", "coverage", "--since", "0000-01-01",
                          "--until", "2026-01-01"), "since"),
                        (("patrols", "reminders", "--date", "9999-12-31"), "date")]:
        r = cli(*args)
        assert r.exit_code == 1, (args, r.output)
        err = json.loads(r.output.strip().splitlines()[-1])["error"]
        assert err["details"][0]["field"] == field, err
    r = cli("patrols", "unvisited", "--days", "99999999999")
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_openapi_documents_every_error_status(api) -> None:
    """Every operation lists its error answers with the error body (not FastAPI's default)."""
    doc = api.get("/openapi.json").json()
    public = {"/api/v1/locate", "/api/v1/health", "/api/v1/catalogue"} | {
        p for p in doc["paths"] if p.startswith("/api/v1/resident/")}  # the resident page
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            need = {"404", "422", "500", "503", "504"}
            if path.startswith("/open311/"):  # GeoReport v2: a bad api_key is 403, never 401
                need |= {"403"}
            elif path not in public:
                need |= {"401", "403", "409"}
            assert need <= codes, (method, path, sorted(codes))
            schema = op["responses"]["422"]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/ErrorAnswer"), (method, path)


def test_a_crash_answers_500_json_and_keeps_the_connection(settings, clean_db) -> None:
    """An unhandled exception: 500 JSON, and the same keep-alive connection answers again."""
    import uvicorn

    from wangge.app import create_app

    app = create_app(settings, listen=False)

    def boom() -> None:
        """A route that crashes."""
        raise RuntimeError("boom: /work/secret.py")

    app.add_api_route("/boom", boom)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(400):  # wait for start-up (not a timing assertion)
            if server.started or not thread.is_alive():
                break
            thread.join(0.05)
        assert server.started
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            first = _exchange(c, "/boom", port)
            second = _exchange(c, "/api/v1/health", port)
        assert first[0] == 500 and json.loads(first[1])["error"]["code"] == "internal_error"
        assert b"/work" not in first[1] and b"boom" not in first[1]
        assert second[0] == 200, second
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _exchange(c: socket.socket, path: str, port: int) -> tuple[int, bytes]:
    """One HTTP/1.1 keep-alive request on ``c``: (status, body); (0, b'') if the server closed."""
    c.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = c.recv(65536)
        if not chunk:
            return 0, b""
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = c.recv(65536)
        if not chunk:
            return 0, b""
        body += chunk
    return int(head.split()[1]), body
