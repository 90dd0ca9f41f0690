"""``wangge etl roster --accounts``: accounts for the roster's workers, one-time passwords
printed once at --commit, never in a preview, never logged or stored in clear."""

from __future__ import annotations

import json

import support.territory as T
from sqlalchemy import text

from gis.access import accounts

HEADER = "username\tpassword"


def _roster(tmp_path, rows: list[str], name: str = "roster.csv"):
    f = tmp_path / name
    f.write_text("worker_code,name,phone,role,area_code\n" + "\n".join(rows) + "\n",
                 encoding="utf-8")
    return f


def _split(stdout: str) -> tuple[dict, dict[str, str]]:
    """The JSON report and the printed (user name → password) table (empty when none)."""
    report, _, table = stdout.partition(HEADER + "\n")
    pairs = dict(line.split("\t") for line in table.splitlines() if line.strip())
    return json.loads(report), pairs


def _accounts(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT username, worker_code, role, must_change_password, password_hash "
            "FROM account ORDER BY username"))]


def test_roster_accounts_are_made_once_with_passwords_shown_once(cli, clean_db, tmp_path,
                                                                 caplog):
    caplog.set_level("DEBUG")
    f = _roster(tmp_path, [f"W1,name W1,,full_time,{T.G1}", f"N1,新人,,full_time,{T.G2}"])
    r = cli("etl", "roster", f, "--accounts")  # a preview: how many, no passwords
    assert r.exit_code == 0, r.output
    assert HEADER not in r.stdout
    report, pairs = _split(r.stdout)
    assert report["placement"]["accounts"]["would_create"] == 2 and pairs == {}
    assert "2 account(s) would be created" in r.stderr
    assert _accounts(clean_db) == []

    r = cli("etl", "roster", f, "--commit", "--accounts")
    assert r.exit_code == 0, r.output
    report, pairs = _split(r.stdout)
    assert report["placement"]["accounts"]["created"] == 2
    assert set(pairs) == {"W1", "N1"}
    for password in pairs.values():
        assert r.output.count(password) == 1 and password not in json.dumps(report)
    rows = _accounts(clean_db)
    assert [(u, w, role, must) for u, w, role, must, _h in rows] == [
        ("N1", "N1", "grid_worker", True), ("W1", "W1", "grid_worker", True)]
    assert all(h.startswith("$argon2id$") and pairs[u] not in h for u, *_x, h in rows)
    s = accounts.login(clean_db, "N1", pairs["N1"])  # a printed password logs in
    assert s.worker == "N1" and s.role == "grid_worker" and s.must_change_password

    again = cli("etl", "roster", f, "--commit", "--accounts")  # every worker has one now
    assert again.exit_code == 0, again.output
    report, pairs2 = _split(again.stdout)
    assert report["placement"]["accounts"]["created"] == 0 and pairs2 == {}
    assert len(_accounts(clean_db)) == 2

    with clean_db.connect() as conn:
        audit = " ".join(str(x) for x in conn.execute(text("SELECT * FROM audit_log")))
    for password in pairs.values():
        assert password not in caplog.text and password not in audit


def test_roster_accounts_by_phone_skip_workers_without_one(cli, clean_db, tmp_path):
    f = _roster(tmp_path, [f"N2,有电话,13812345678,full_time,{T.G1}",
                           f"N3,无电话,,full_time,{T.G2}"])
    r = cli("etl", "roster", f, "--commit", "--accounts", "--accounts-by", "phone")
    assert r.exit_code == 0, r.output
    report, pairs = _split(r.stdout)
    assert list(pairs) == ["13812345678"]
    assert report["placement"]["accounts"]["skipped"] == [{"worker": "N3",
                                                            "reason": "no_phone"}]
    s = accounts.login(clean_db, "13812345678", pairs["13812345678"])
    assert s.worker == "N2"
    bad = cli("etl", "roster", f, "--accounts", "--accounts-by", "email")
    assert bad.exit_code == 1 and "unknown_account_name" in bad.stderr
