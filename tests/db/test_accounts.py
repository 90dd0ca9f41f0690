"""Issue 13, item 1: accounts — Argon2id hashes, log-in to a session token, lockout, log-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from support.workflow import G1, G_OTHER_STREET, W1, clear_workflow, grid_point

from gis.access import accounts, auth
from gis.errors import Conflict, InvalidInput, Unauthorized

COMMUNITY = "320508001001"


@pytest.fixture()
def client(api, demo_district, engine, request):
    """The api fixture on the demo district, as the district centre."""
    clear_workflow(request.getfixturevalue("owner_engine"))
    api.app.state.locator.refresh(force=True)
    api.headers["Authorization"] = "Bearer " + auth.create_token(
        engine, "district_centre", name="centre")["token"]
    return api


def _post_event(client, engine, grid) -> int:
    """Report an event in ``grid`` as the centre; returns its id."""
    lon, lat = grid_point(engine, grid)
    r = client.post("/api/v1/events", json={"item": "health.sanitation", "lon": lon, "lat": lat})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _login(client, username, password):
    """POST /api/v1/session without the centre's token."""
    return client.post("/api/v1/session", json={"username": username, "password": password},
                       headers={"Authorization": ""})


def _stored_hash(engine, username) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT password_hash FROM account WHERE username = :u"),
                            {"u": username}).scalar_one()


def test_hash_is_argon2id_and_role_rules_are_the_tokens(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    stored = _stored_hash(engine, W1)
    assert stored.startswith("$argon2id$") and otp.password not in stored
    assert accounts.hasher().verify(stored, otp.password)
    with pytest.raises(Conflict):
        accounts.create_account(engine, W1, "grid_worker", worker=W1)
    with pytest.raises(InvalidInput) as e:  # the token checks: a community code for a street role
        accounts.create_account(engine, "13800000000", "street_dispatcher", area=COMMUNITY)
    assert e.value.code == "wrong_area_level"
    with pytest.raises(InvalidInput) as e:
        accounts.create_account(engine, "13800000001", "community_dispatcher")
    assert e.value.code == "area_required"


def test_login_token_works_with_the_accounts_scope(client, engine):
    mine, other = _post_event(client, engine, G1), _post_event(client, engine, G_OTHER_STREET)
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    r = _login(client, W1, otp.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "grid_worker" and body["worker"] == W1
    assert body["must_change_password"] is True and body["token"].startswith("wg_")
    h = {"Authorization": f"Bearer {body['token']}"}
    r = client.post("/api/v1/me/password", headers=h,  # first, the one-time password goes
                    json={"old_password": otp.password, "new_password": "a-good-new-one"})
    assert r.status_code == 200, r.text
    ids = {e["id"] for e in client.get("/api/v1/events", headers=h).json()["events"]}
    assert mine in ids and other not in ids
    me = client.get("/api/v1/me", headers=h).json()
    assert me["areas"] == [G1] and me["worker"] == W1
    rows = [t for t in auth.list_tokens(engine) if t["id"] == body["token_id"]]
    assert rows[0]["name"] == f"session:{W1}" and rows[0]["expires_at"] is not None


def test_wrong_password_and_unknown_user_answer_alike(client, engine):
    accounts.create_account(engine, W1, "grid_worker", worker=W1)
    wrong, unknown = _login(client, W1, "not-it"), _login(client, "nobody", "not-it")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "bad_credentials"


def test_lockout_after_five_failures_and_unlock_after_the_period(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    now = auth.now_utc()
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(Unauthorized) as e:
            accounts.login(engine, W1, "wrong", now=now)
        assert e.value.code == "bad_credentials"
    with pytest.raises(Unauthorized) as e:  # locked: even the right password is refused
        accounts.login(engine, W1, otp.password, now=now + timedelta(minutes=1))
    assert e.value.code == "account_locked"
    with pytest.raises(Unauthorized) as e:  # a wrong one still looks like any wrong one
        accounts.login(engine, W1, "wrong", now=now + timedelta(minutes=1))
    assert e.value.code == "bad_credentials"
    r = _login(client, W1, otp.password)  # the API: 401 account_locked
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_locked"
    later = now + timedelta(minutes=accounts.LOCK_MINUTES, seconds=1)
    s = accounts.login(engine, W1, otp.password, now=later)
    assert s.role == "grid_worker"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT failed_attempts, locked_until FROM account "
                                "WHERE username = :u"), {"u": W1}).one()
    assert row.failed_attempts == 0 and row.locked_until is None


def test_disabled_account_is_refused_and_its_sessions_end(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    token = _login(client, W1, otp.password).json()["token"]
    accounts.disable_account(engine, W1)
    r = _login(client, W1, otp.password)
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_logout_revokes_the_session_not_a_script_token(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    h = {"Authorization": f"Bearer {_login(client, W1, otp.password).json()['token']}"}
    assert client.get("/api/v1/me", headers=h).status_code == 200
    r = client.delete("/api/v1/session", headers=h)  # allowed before the password change
    assert r.status_code == 200 and r.json() == {"revoked": True}
    assert client.get("/api/v1/me", headers=h).status_code == 401
    assert client.delete("/api/v1/session", headers=h).status_code == 401
    # a script token stays (log-out ends sessions only)
    r = client.delete("/api/v1/session")
    assert r.status_code == 200 and r.json() == {"revoked": False}
    assert client.get("/api/v1/events").status_code == 200


def test_no_password_or_token_in_logs_or_audit(client, engine, caplog):
    caplog.set_level("DEBUG")
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    _login(client, W1, "wrong-password-xyz")
    token = _login(client, W1, otp.password).json()["token"]
    with engine.connect() as conn:
        audit = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")))
    for secret in (otp.password, "wrong-password-xyz", token):
        assert secret not in caplog.text and secret not in audit
