"""``wangge user create | reset | disable``: one-time passwords shown once, never logged."""

from __future__ import annotations

import json

import pytest
import support.territory as T
from sqlalchemy import text

from gis.access import accounts
from gis.errors import Unauthorized

G1 = T.G1


def _password(result) -> str:
    """The one line of stdout: the one-time password."""
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_create_reset_disable(cli, clean_db, caplog):
    caplog.set_level("DEBUG")
    r = cli("user", "create", "W1", "--role", "grid_worker", "--worker", "W1",
            "--department", "")
    assert r.exit_code == 1  # a department only for role department
    assert json.loads(r.stderr)["error"]["code"] == "department_not_allowed"
    r = cli("user", "create", "W1", "--role", "grid_worker", "--area", G1, "--worker", "W1")
    assert r.exit_code == 0, r.output
    first = _password(r)
    assert r.output.count(first) == 1 and "shown once" in r.stderr
    s = accounts.login(clean_db, "W1", first)
    assert s.must_change_password and s.area == G1 and s.worker == "W1"

    r = cli("user", "create", "W1", "--role", "grid_worker", "--worker", "W1")
    assert r.exit_code == 1 and json.loads(r.stderr)["error"]["code"] == "username_taken"

    r = cli("user", "reset", "W1")
    assert r.exit_code == 0, r.output
    second = _password(r)
    assert second != first and r.output.count(second) == 1
    with pytest.raises(Unauthorized):
        accounts.login(clean_db, "W1", first)
    accounts.login(clean_db, "W1", second)

    r = cli("user", "disable", "W1")
    assert r.exit_code == 0 and "disabled" in r.stdout
    with pytest.raises(Unauthorized) as e:
        accounts.login(clean_db, "W1", second)
    assert e.value.code == "account_disabled"
    assert cli("user", "reset", "nobody").exit_code == 1
    assert cli("user", "disable", "nobody").exit_code == 1
    for secret in (first, second):
        assert secret not in caplog.text
    with clean_db.connect() as conn:
        audit = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")))
    assert first not in audit and second not in audit
