"""Schema-driven fuzzing of the whole API: no 5xx, no SQL, stack trace or server path in any
answer. Two passes over the OpenAPI document: boundary values in every parameter and body
field (what the outside fuzzer's 500s came from), then schemathesis-generated requests."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
import support.openapi as H
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from sqlalchemy import Engine, text

from gis.settings import Settings

# Generated requests per operation and mode (the whole file about a minute on two cores).
EXAMPLES = 15
LEAKS = re.compile(r"Traceback|File \"|\.py\"|/work/|site-packages|psycopg2|sqlalchemy|"
                   r"\[SQL:|LINE \d+:|syntax error at|\(Background on this error")
DEEP = "[" * 5000 + "]" * 5000
EDGES: dict[str, list[Any]] = {
    "string": ["\x00", "a\x00b", "x" * 5000, "2026-01-01T00:00:00-16:31", "0000-07",
               "0000-01-01T00:00:00", "9999-12-31T23:59:59-15:59", "9999-12-31", "0001-01-01",
               "2026-13-45", "nan", "-1", "\u202e\ufeff", "%00", "../../etc/passwd"],
    "integer": [2**63, 2**63 - 1, -(2**63) - 1, 2**31, 3_000_000_000, 99_999_999_999, -1, 0,
                10**30, "1e3", "0x10"],
    "number": ["nan", "inf", "-inf", "1e309", "-1e309", 1e308, -1e308, 2**64, "1e-400"],
    "boolean": ["maybe", 2, "\x00"],
    "array": [["\x00"], [2**64], [DEEP]],
    "object": [{"\x00": 1}, {"a": "\x00"}],
}
# body-only values: JSON types a query string cannot carry
BODY_EDGES = [None, True, [], {}, 2**64, -(2**64), 1e308, "\ud800", {"a": [[[[[[]]]]]]}]


def _leak_free(status: int, body: str, where: str) -> list[str]:
    """Problems with one answer: a 5xx, or internals in the body."""
    out = []
    if status >= 500:
        out.append(f"{where} -> {status}: {body[:200]}")
    if (m := LEAKS.search(body)) is not None:
        out.append(f"{where} -> {status}: {m.group(0)!r} leaked: {body[:200]}")
    return out


@pytest.fixture(scope="module")
def fuzz_env(settings: Settings, engine: Engine, owner_engine: Engine) -> dict[str, Any]:
    """The demo district, a district-centre token whose id no generated value hits, row ids."""
    from support.db import empty_every_table

    from gis.access import auth
    from gis.territory.synthetic import load_synthetic

    empty_every_table(owner_engine)
    with owner_engine.begin() as conn:  # setval is the owner's right
        conn.execute(text("SELECT setval('api_token_id_seq', 987654321)"))
    load_synthetic(engine)
    token = auth.create_token(engine, "district_centre", name="fuzz")["token"]
    return {"token": token, "ids": H.demo_ids(engine)}


@pytest.fixture(scope="module")
def fuzz_client(settings: Settings, fuzz_env: dict[str, Any]):
    """A TestClient that answers 500 (not raises) on a crash, as a real server would."""
    from fastapi.testclient import TestClient

    from wangge.app import create_app

    app = create_app(settings, listen=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {fuzz_env['token']}"
        yield client


def test_boundary_values_in_every_parameter(fuzz_client, fuzz_env) -> None:
    """Every slot of every operation gets the values of its type that once answered 500."""
    doc = fuzz_client.get("/openapi.json").json()
    problems, sent = [], 0
    for op in H.operations(doc, fuzz_env["ids"]):
        cases: list[tuple[H.Slot | None, Any]] = [(None, None)]
        for slot in op.slots:
            for t in slot.types | {"string"}:
                cases += [(slot, v) for v in EDGES.get(t, [])]
            if slot.where == "body":
                cases += [(slot, v) for v in BODY_EDGES]
        for slot, value in cases:
            if slot is not None and slot.where == "header" and not isinstance(value, str):
                continue
            try:
                kw = op.request(slot, value)
            except (UnicodeEncodeError, ValueError):
                continue  # not sendable over HTTP (e.g. a lone surrogate in a query)
            if slot is not None and slot.where == "header" and (
                    not value.isascii() or "\x00" in value or len(value) > 1000):
                continue  # the HTTP client refuses these headers itself
            r = fuzz_client.request(**kw)
            sent += 1
            where = f"{op.label} {slot.label if slot else '(valid)'}={str(value)[:40]!r}"
            problems += _leak_free(r.status_code, r.text, where)
    for body in (DEEP.encode(), b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"item": "\\u0000"}'):
        for op in H.operations(doc, fuzz_env["ids"]):
            if op.media == "application/json":
                kw = op.request()
                kw["content"] = body
                r = fuzz_client.request(**kw)
                problems += _leak_free(r.status_code, r.text, f"{op.label} body {body[:12]!r}")
                assert r.status_code == 422, (op.label, r.text[:200])
    assert not problems, "\n".join(problems[:40])
    assert sent > 1000


def test_generated_requests_against_the_schema(fuzz_client, fuzz_env) -> None:
    """schemathesis: valid and invalid requests generated from the schema, every operation."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_client.app)
    problems: list[str] = []
    sent: list[int] = []
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case) -> None:
                kw = case.as_transport_kwargs(base_url="http://testserver")
                kw.pop("auth", None)
                kw["headers"] = {**(kw.get("headers") or {}),
                                 "Authorization": f"Bearer {fuzz_env['token']}"}
                try:
                    r = fuzz_client.request(**{k: v for k, v in kw.items()
                                               if k in ("method", "url", "params", "headers",
                                                        "json", "content", "data", "files")})
                except (UnicodeEncodeError, ValueError, TypeError):
                    return  # the HTTP client cannot send it
                where = f"{case.method} {case.path} {str(case.query)[:80]}"
                sent.append(r.status_code)
                problems.extend(_leak_free(r.status_code, r.text, where))

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters)
                continue
    assert not problems, "\n".join(problems[:40])
    assert len(sent) > 1000 and sent.count(200) > 100, len(sent)
