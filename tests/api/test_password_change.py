"""Issue 13 item 1: changing one's password; a session that must change it can do nothing else."""

from __future__ import annotations

from sqlalchemy import text
from support.workflow import W1

from gis.access import accounts


def _login(client, username, password):
    return client.post("/api/v1/session", json={"username": username, "password": password},
                       headers={"Authorization": ""})


def _session(client, username, password) -> dict[str, str]:
    r = _login(client, username, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _change(client, h, old, new):
    return client.post("/api/v1/me/password", json={"old_password": old, "new_password": new},
                       headers=h)


def _failed_attempts(engine, username) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT failed_attempts FROM account WHERE username = :u"),
                            {"u": username}).scalar_one()


def test_a_new_account_must_change_its_password_before_anything_else(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    h = _session(client, W1, otp.password)
    me = client.get("/api/v1/me", headers=h)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    for method, path in (("GET", "/api/v1/events"), ("GET", "/api/v1/me/tasks"),
                         ("GET", "/api/v1/grids"), ("POST", "/api/v1/events")):
        r = client.request(method, path, headers=h, json={"item": "health.sanitation"})
        assert r.status_code == 403, (path, r.text)
        err = r.json()["error"]
        assert err["code"] == "password_change_required"
        assert err["message"].startswith("请先修改")  # Chinese first
    with engine.connect() as conn:
        denied = conn.execute(text("SELECT count(*) FROM audit_log WHERE outcome = 'denied' "
                                   "AND data->>'code' = 'password_change_required'")).scalar()
    assert denied == 4
    # a script token is never held back
    assert client.get("/api/v1/events").status_code == 200

    r = _change(client, h, otp.password, "a-good-new-one")
    assert r.status_code == 200 and r.json() == {"changed": True}
    assert client.get("/api/v1/events", headers=h).status_code == 200
    assert client.get("/api/v1/me", headers=h).json()["must_change_password"] is False
    assert _login(client, W1, otp.password).status_code == 401
    assert _login(client, W1, "a-good-new-one").json()["must_change_password"] is False


def test_the_password_policy_refuses_weak_passwords(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    h = _session(client, W1, otp.password)
    for new in ("short", W1, W1.lower(), otp.password):
        r = _change(client, h, otp.password, new)
        assert r.status_code == 422, new
        err = r.json()["error"]
        assert err["code"] == "weak_password" and err["details"][0]["field"] == "new_password"
        assert "\u4e00" <= err["details"][0]["reason"][0] <= "\u9fff"  # Chinese first
    assert client.get("/api/v1/me", headers=h).json()["must_change_password"] is True
    assert _login(client, W1, otp.password).status_code == 200  # nothing changed


def test_a_wrong_old_password_is_refused_and_counts_toward_the_lockout(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    h = _session(client, W1, otp.password)
    r = _change(client, h, "not-the-password", "a-good-new-one")
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_credentials"
    assert _failed_attempts(engine, W1) == 1
    for _ in range(accounts.MAX_FAILURES - 1):
        assert _change(client, h, "not-the-password", "a-good-new-one").status_code == 401
    r = _login(client, W1, otp.password)
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_locked"
    r = _change(client, h, otp.password, "a-good-new-one")  # locked: even the right one
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_locked"


def test_a_change_ends_the_other_sessions_and_a_reset_demands_a_change_again(client, engine):
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    h, other = _session(client, W1, otp.password), _session(client, W1, otp.password)
    assert _change(client, h, otp.password, "a-good-new-one").status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.get("/api/v1/me", headers=h).status_code == 200
    again = accounts.reset_password(engine, W1)  # what `wangge user reset` does
    assert client.get("/api/v1/me", headers=h).status_code == 401  # sessions ended
    h = _session(client, W1, again.password)
    assert client.get("/api/v1/me", headers=h).json()["must_change_password"] is True
    assert client.get("/api/v1/events", headers=h).status_code == 403


def test_a_script_token_has_no_password_to_change(client):
    r = _change(client, {}, "x", "a-good-new-one")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_session"


def test_passwords_are_not_in_the_audit_log_or_the_logs(client, engine, caplog):
    caplog.set_level("DEBUG")
    otp = accounts.create_account(engine, W1, "grid_worker", worker=W1)
    h = _session(client, W1, otp.password)
    _change(client, h, "wrong-old-xyz", "new-secret-1")
    _change(client, h, otp.password, "new-secret-2")
    with engine.connect() as conn:
        audit = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")))
    for secret in (otp.password, "wrong-old-xyz", "new-secret-1", "new-secret-2"):
        assert secret not in caplog.text and secret not in audit
