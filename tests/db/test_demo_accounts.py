"""The demo prints log-ins for the desk: the centre, a community dispatcher, a planner."""

from __future__ import annotations

from gis.access import accounts
from wangge import demo


def test_desk_accounts_log_in_with_their_roles_and_areas(demo_district, engine) -> None:
    """Each printed one-time password logs in once; a second start gives new ones."""
    first = demo.desk_accounts(engine)
    roles = {a.username: a for _, a in first}
    assert set(roles) >= {"centre", "planner"}
    disp = [u for u in roles if u.startswith("disp")]
    assert len(disp) == 1
    for username, acct in roles.items():
        session = accounts.login(engine, username, acct.password)
        assert session.must_change_password
        assert session.role == {"centre": "district_centre", "planner": "planner"}.get(
            username, "community_dispatcher")
    assert accounts.login(engine, disp[0], roles[disp[0]].password).area == disp[0][4:]
    again = {a.username: a.password for _, a in demo.desk_accounts(engine)}
    assert all(again[u] != roles[u].password for u in roles)
    field = demo.field_account(engine)
    assert field is not None and disp[0] == "disp" + field.username[1:13]
