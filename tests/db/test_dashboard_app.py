"""Streamlit AppTest of every dashboard page, with data, empty and unreachable database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.dashboard import seed as _seed

DASH = Path(__file__).resolve().parents[2] / "dashboard"


@pytest.fixture()
def db_env(settings, monkeypatch):
    """DATABASE_URL of the test database for the app under test."""
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    from dashboard import data

    for fn in (data.extent, data.filter_options, data.grids):
        fn.clear()
    import streamlit as st

    st.cache_data.clear()
    return settings


def _app(page: Path, engine=None, role: str = "district_centre",
         area: str | None = None, lang: str = "en") -> AppTest:
    """An AppTest of ``page`` in ``lang``, logged in with a token of ``role`` (no engine:
    logged out)."""
    at = AppTest.from_file(str(page), default_timeout=30)
    at.session_state["wg_lang"] = lang
    if engine is not None:
        from gis.access.auth import create_token

        at.session_state["wg_token"] = create_token(engine, role, area, name="apptest")["token"]
    return at


def account(engine, username: str, role: str, area: str | None = None) -> str:
    """A ready account (its initial password already changed); returns the password."""
    from gis.access import accounts, auth

    otp = accounts.create_account(engine, username, role, area)
    who = auth.authenticate(engine, accounts.login(engine, username, otp.password).token)
    accounts.change_password(engine, who, otp.password, "S3cure-pass-" + username)
    return "S3cure-pass-" + username


def _text(at: AppTest) -> str:
    """All markdown / info / error / metric text of a run."""
    parts = [m.value for m in at.markdown] + [e.value for e in at.info]
    parts += [e.value for e in at.error] + [f"{m.label}={m.value}" for m in at.metric]
    parts += [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [x.value for x in at.title]
    return "\n".join(str(p) for p in parts)


def test_live_map_page(db_env, demo_district, engine) -> None:
    """The entry point opens on the live map with metrics and no exception."""
    _seed(engine)
    at = _app(DASH / "app.py", engine).run()
    assert not at.exception, at.exception
    txt = _text(at)
    assert "Events=3" in txt and "Overdue=1" in txt
    assert "Alerts sound here" in txt  # app.py watches the alerts on every page
    assert at.sidebar.selectbox(key="live_window").value == "today"  # the desk's day


def test_grids_workers_page(db_env, demo_district, engine) -> None:
    """Per grid and per worker tables."""
    _seed(engine)
    at = _app(DASH / "pages" / "grids_workers.py", engine).run()
    assert not at.exception, at.exception
    assert "Grids=32" in _text(at)
    assert len(at.dataframe) >= 2


def test_grids_workers_in_chinese_for_a_community(db_env, demo_district, engine) -> None:
    """A community dispatcher's page names their community (not 全区); grid kinds and roles
    read in Chinese (基础网格, 专职网格员, 网格长), no codes like basic or full_time."""
    _seed(engine)
    at = _app(DASH / "pages" / "grids_workers.py", engine, "community_dispatcher",
              "320508001001", lang="zh").run()
    assert not at.exception, at.exception
    text = _text(at)
    caption = next(c.value for c in at.caption if "320508001001" in c.value)
    assert "全区" not in caption
    assert "基础网格" in text and " basic " not in text
    people = next(d.value for d in at.dataframe if "角色" in d.value.columns)
    assert set(people["角色"]) <= {"网格长", "专职网格员"} and "专职网格员" in set(people["角色"])
    workers = next(d.value for d in at.dataframe if "职责" in d.value.columns)
    roles = " ".join(workers["职责"])
    assert "专职网格员" in roles and "网格长" in roles
    assert "full_time" not in roles and "grid_leader" not in roles


def test_empty_state(db_env, clean_db, engine) -> None:
    """No district: the page says how to load one."""
    for page in (DASH / "app.py", DASH / "pages" / "grids_workers.py"):
        at = _app(page, engine, lang="zh").run()
        assert not at.exception
        txt = _text(at)
        assert "wangge boundaries import FILE --commit" in txt and "尚无辖区边界" in txt
        assert "wangge demo" not in txt


def test_database_unreachable(monkeypatch) -> None:
    """An unreachable database is reported without a traceback."""
    url = "postgresql://wangge@127.0.0.1:9/nowhere"
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_URL", url)
    for page in (DASH / "app.py", DASH / "pages" / "grids_workers.py"):
        at = AppTest.from_file(str(page), default_timeout=30).run()
        assert not at.exception
        assert at.error and "数据库无法连接" in at.error[0].value


def _map_state(lon: float, lat: float, zoom: int, clicks: int = 0) -> dict:
    """What st_folium reports for a map centred on (lon, lat), after ``clicks`` clicks there."""
    d = 0.002
    out = {"center": {"lat": lat, "lng": lon}, "zoom": zoom,
           "bounds": {"_southWest": {"lat": lat - d, "lng": lon - d},
                      "_northEast": {"lat": lat + d, "lng": lon + d}}}
    if clicks:
        out |= {"last_object_clicked": {"lat": lat + 0.00001, "lng": lon + 0.00001},
                "last_object_clicked_count": clicks, "last_object_clicked_tooltip": "x"}
    return out


def test_layers_clusters_and_click(db_env, demo_district, engine) -> None:
    """Every layer choice takes effect; cameras are clustered at district zoom and drawn one by
    one zoomed in; clicking an event marker lists the cameras near it."""
    from sqlalchemy import text

    _seed(engine)
    at = _app(DASH / "app.py", engine).run()
    assert not at.exception, at.exception
    layers = at.session_state["_map_layers"]
    assert "Grids" in layers and any(x.startswith("Cameras (2") for x in layers)
    assert "Cameras in view=2" in _text(at)

    at.sidebar.multiselect(key="live_layers").set_value(["Events", "Event heat"]).run()
    assert not at.exception, at.exception
    layers = at.session_state["_map_layers"]
    assert "Grids" not in layers and not any(x.startswith("Cameras") for x in layers)
    assert not any(x.startswith("Patrol") for x in layers)
    assert "Cameras in view=–" in _text(at)
    at.sidebar.multiselect(key="live_layers").set_value(["Grids", "Cameras", "Events"]).run()
    assert "Grids" in at.session_state["_map_layers"]

    ev = engine.connect().execute(text(
        "SELECT id, ST_X(geom) x, ST_Y(geom) y FROM event ORDER BY id DESC LIMIT 1")).one()
    key = "live_map_0"
    at.session_state[key] = _map_state(ev.x, ev.y, 17)
    at.run()
    assert not at.exception, at.exception
    assert any(x == "Cameras (2)" for x in at.session_state["_map_layers"])  # one by one
    at.session_state[key] = _map_state(ev.x, ev.y, 17, clicks=1)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["selected_event"] in {ev.id, ev.id - 1, ev.id - 2}  # same spot
    near = [d for d in at.dataframe if list(d.value.columns)[:1] == ["Camera"]]
    assert near and list(near[0].value["Camera"]) == ["CAM-NEAR", "CAM-FAR"]
    assert "Selected event and nearby cameras" in at.session_state["_map_layers"]


def test_camera_clusters_on_the_live_page(db_env, demo_district, engine) -> None:
    """Many cameras at district zoom: the page ships clusters, not every camera."""
    from support.dashboard import cameras as _cameras

    _cameras(engine, 120)
    at = _app(DASH / "app.py", engine).run()
    assert not at.exception, at.exception
    assert "Cameras in view=120" in _text(at)
    assert "Cameras (120, clustered)" in at.session_state["_map_layers"]
    assert "cameras clustered" in _text(at)


def test_mapview_legends_and_nearest_event() -> None:
    """Heat and coverage have their own scales and legends; a click picks the nearest event."""
    from dashboard import i18n, mapview

    tok = i18n._FIXED.set("en")  # the English map (reset at the end)

    assert set(mapview.HEAT).isdisjoint({mapview.coverage_colour(i / 10) for i in range(11)})
    assert mapview.heat_levels(1000)[0] == 1 and mapview.heat_levels(1000)[-1] == 1000
    m = mapview.build_map(mapview.MapView(
        (31.3, 120.6), 14, grids=[{"code": "g", "name": "G", "geometry": {
            "type": "Polygon", "coordinates": [[[120.5, 31.2], [120.7, 31.2], [120.7, 31.4],
                                                [120.5, 31.2]]]}}],
        bins={"cellx": 0.01, "celly": 0.01, "total": 5, "bins": [
            {"minlon": 120.6, "minlat": 31.3, "maxlon": 120.61, "maxlat": 31.31, "n": 5,
             "open": 1}]},
        coverage={"g": {"units": 2, "covered": 1, "share": 0.5}},
        cameras={"mode": "clusters", "total": 7, "offline": 2, "cameras": [], "clusters": [
            {"lon": 120.6, "lat": 31.3, "n": 7, "offline": 2, "code": "C1"}]}))
    html = m.get_root().render()
    i18n._FIXED.reset(tok)
    assert "Events per bin" in html and "Patrol coverage" in html
    assert "7 cameras, 2 offline" in html
    evs = [{"id": 1, "lon": 120.6, "lat": 31.3}, {"id": 2, "lon": 120.601, "lat": 31.3}]
    assert mapview.nearest_event(evs, 31.30001, 120.60099, 17)["id"] == 2
    assert mapview.nearest_event(evs, 31.31, 120.6, 17) is None


def test_dashboard_command_hides_the_toolbar() -> None:
    """The dashboard is started without Streamlit's developer toolbar (Deploy, menu)."""
    from wangge.cli import dashboard_command

    cmd = dashboard_command(8501, "127.0.0.1")
    assert cmd and cmd[cmd.index("--client.toolbarMode") + 1] == "viewer"
    cmd = dashboard_command(8501, "127.0.0.1", max_upload_bytes=20 * 2**20 + 5)
    assert cmd and cmd[cmd.index("--server.maxUploadSize") + 1] == "20"  # WANGGE_MAX_UPLOAD_BYTES


def _login(at: AppTest, username: str, password: str) -> AppTest:
    """Fill and submit the log-in form."""
    at.text_input(key="wg_username").input(username)
    at.text_input(key="wg_password").input(password)
    return at.button[0].click().run()


def test_log_in_first_and_refusals_in_chinese(db_env, demo_district, engine) -> None:
    """Logged out, every page shows the log-in form only; a wrong password says so in Chinese."""
    _seed(engine)
    for page in (DASH / "app.py", DASH / "pages" / "grids_workers.py"):
        at = _app(page, lang="zh").run()
        assert not at.exception, at.exception
        assert at.text_input(key="wg_password").label == "密码"
        assert at.text_input(key="wg_username").label == "用户名"
        assert at.button[0].label == "登录" and not at.metric and not at.dataframe
    at.sidebar.radio(key="wg_lang").set_value("en").run()  # the switch, on the log-in page
    assert at.text_input(key="wg_username").label == "User name"
    assert at.button[0].label == "Log in" and at.text_input(key="wg_password").label == "Password"
    password = account(engine, "centre1", "district_centre")
    at = _login(_app(DASH / "app.py", lang="zh").run(), "centre1", "wrong-password")
    assert not at.exception and "用户名或密码错误" in at.error[0].value
    assert not at.metric
    at = _login(at, "centre1", password)
    assert not at.exception, at.exception
    assert "事件=3" in _text(at) and "实时地图" in _text(at)  # Chinese by default
    assert "wg_token" in at.session_state


def test_initial_password_must_change(db_env, demo_district, engine) -> None:
    """A first log-in with the one-time password is asked to change it before seeing data."""
    from gis.access import accounts

    otp = accounts.create_account(engine, "newbie", "district_centre")
    at = _login(_app(DASH / "app.py", lang="zh").run(), "newbie", otp.password)
    assert not at.exception, at.exception
    assert "修改初始密码" in at.warning[0].value and not at.metric
    assert at.text_input(key="wg_new").label == "新密码"
    at.sidebar.radio(key="wg_lang").set_value("en").run()
    assert "change your initial password" in at.warning[0].value


def test_community_dispatcher_sees_only_their_community(db_env, demo_district, engine) -> None:
    """A community dispatcher sees their community's events, grids and workers; another
    community's dispatcher sees none of them; logging out revokes the session."""
    from sqlalchemy import text

    _seed(engine)
    with engine.connect() as conn:
        mine = conn.execute(text("SELECT DISTINCT community_code FROM event")).scalar_one()
        other = conn.execute(text(
            "SELECT c.code FROM community c JOIN generation g ON g.id = c.generation_id AND "
            "g.status = 'active' WHERE c.code <> :m ORDER BY c.code LIMIT 1"), {"m": mine}
        ).scalar_one()
        n_grids = conn.execute(text(
            "SELECT count(*) FROM grid g JOIN generation gen ON gen.id = g.generation_id AND "
            "gen.status = 'active' WHERE g.code LIKE :p"), {"p": mine + "%"}).scalar_one()
    at = _login(_app(DASH / "app.py").run(), "comm1",
                account(engine, "comm1", "community_dispatcher", mine))
    assert not at.exception, at.exception
    assert "Events=3" in _text(at) and "Cameras in view=2" in _text(at)
    streets = at.sidebar.selectbox(key="live_street").options
    communities = at.sidebar.selectbox(key="live_community").options
    assert len(streets) == 2 and len(communities) == 2  # "all" and their own
    at = _app(DASH / "pages" / "grids_workers.py", engine, "community_dispatcher", mine).run()
    assert not at.exception, at.exception
    assert f"Grids={n_grids}" in _text(at) and n_grids < 32
    grids = at.dataframe[0].value["grid"]
    assert all(g.startswith(mine) for g in grids)
    at = _app(DASH / "app.py", engine, "community_dispatcher", other).run()
    assert not at.exception, at.exception
    assert "Events=0" in _text(at)
    assert "Cameras in view=0" in _text(at)  # the two cameras stand in the other community
    assert not any(x.startswith("Cameras") for x in at.session_state["_map_layers"])
    from datetime import UTC, datetime

    from dashboard import data

    cov = data.patrol_coverage(db_env.database_url, datetime(2020, 1, 1, tzinfo=UTC), 50.0,
                               31.0, (mine,))
    assert cov and len(cov) == n_grids and all(k.startswith(mine) for k in cov)

    at = _login(_app(DASH / "app.py").run(), "comm2",
                account(engine, "comm2", "community_dispatcher", mine))
    token = at.session_state["wg_token"]
    at.sidebar.button(key="wg_logout").click().run()
    assert not at.exception, at.exception
    assert at.text_input(key="wg_password") is not None and not at.metric
    with engine.connect() as conn:
        assert conn.execute(text("SELECT revoked_at IS NOT NULL FROM api_token WHERE id = ("
                                 "SELECT max(id) FROM api_token)")).scalar_one()
    assert token


def test_language_switch_and_times_in_cst(db_env, demo_district, engine) -> None:
    """Chinese by default with times in 北京时间; the sidebar switch turns the page English."""
    from datetime import UTC, datetime

    from dashboard import i18n

    _seed(engine)
    at = _app(DASH / "app.py", engine, lang="zh").run()
    assert not at.exception, at.exception
    assert "实时地图" in _text(at) and "超期=1" in _text(at)
    latest = [d.value for d in at.dataframe if "上报时间 (北京时间)" in d.value.columns]
    assert latest and set(latest[0]["状态"]) <= {"已上报", "已受理", "已派遣", "处置中",
                                                "已处置", "已结案", "重新办理"}
    overdue = next(d.value for d in at.dataframe if "超时（小时）" in d.value.columns)
    assert list(overdue.columns) == ["编号", "事项", "网格", "办理时限 (北京时间)", "超时（小时）",
                                     "层级", "处置人", "状态"]
    assert list(overdue["状态"]) == ["已上报"] and list(overdue["层级"]) == ["网格"]
    assert list(overdue["处置人"]) == ["未指派"] and overdue["超时（小时）"][0] >= 1.0
    assert "超期事件（1）" in [h.value for h in at.subheader]
    layers = at.session_state["_map_layers"]
    assert "网格" in layers and "摄像头（2）" in layers and "今日巡查轨迹（1）" in layers
    at.sidebar.radio(key="wg_lang").set_value("en").run()
    assert not at.exception, at.exception
    assert "Grids" in at.session_state["_map_layers"]
    assert "Live map" in _text(at) and "Overdue=1" in _text(at)
    assert any("Reported (China Standard Time)" in d.value.columns for d in at.dataframe)
    assert i18n.fmt_time(datetime(2026, 12, 4, 10, 30, tzinfo=UTC)) == "2026-12-04 18:30"


def _live_only() -> None:
    """AppTest script: one refresh of the live map's fragment against session_state["url"]."""
    import streamlit as st

    from dashboard import data, ui
    from dashboard.pages import live_map

    f = data.Filters(since=data.since_for("all time"))
    live_map.live(st.session_state["url"], st.session_state["ext"],
                  ui.Choice("all time", f, "all"), list(live_map.LAYERS), 50.0, 300.0)


def test_outage_keeps_the_last_view_greyed(db_env, demo_district, engine) -> None:
    """The database going away keeps the last loaded metrics, map and tables on screen,
    greyed, under the outage banner; the next successful refresh shows live data again."""
    from gis.oversight import dashboard as dq

    _seed(engine)
    at = AppTest.from_function(_live_only, default_timeout=30)
    at.session_state["wg_lang"] = "en"
    at.session_state["url"], at.session_state["ext"] = db_env.database_url, dq.extent(engine)
    at.run()
    assert not at.exception and not at.error, at.exception
    assert "Events=3" in _text(at) and "grayscale" not in _text(at)
    layers = at.session_state["_map_layers"]
    at.session_state["url"] = "postgresql://wangge@127.0.0.1:9/nowhere"
    at.run()
    assert not at.exception, at.exception
    assert at.error and "Database unreachable" in at.error[0].value
    txt = _text(at)
    assert "Events=3" in txt and "grayscale" in txt and "before the outage" in txt
    assert at.session_state["_map_layers"] == layers  # the map is drawn from the last data
    assert any("Hours late" in d.value.columns for d in at.dataframe)
    at.session_state["url"] = db_env.database_url
    at.run()
    assert not at.exception and not at.error and "grayscale" not in _text(at)


def test_outage_before_any_data_shows_the_banner_only(monkeypatch) -> None:
    """Nothing loaded yet: the banner alone, no stale map."""
    at = AppTest.from_function(_live_only, default_timeout=30)
    at.session_state["url"] = "postgresql://wangge@127.0.0.1:9/nowhere"
    at.session_state["ext"] = {"minlon": 120.0, "minlat": 31.0, "maxlon": 120.1, "maxlat": 31.1}
    at.run()
    assert not at.exception, at.exception
    assert at.error and "数据库无法连接" in at.error[0].value and not at.metric


def test_a_failing_query_while_the_database_answers_is_retried_after_seconds(
        db_env, demo_district, engine, owner_engine, settings, monkeypatch) -> None:
    """A read cancelled by the statement timeout (a table locked by a long migration) while
    the database still answers: the page shows the outage and retries in a few seconds; it does
    not rerun itself at once, over and over (the probe found the database up at once)."""
    from sqlalchemy import text

    at = _app(DASH / "pages" / "grids_workers.py", engine, lang="zh")
    url = settings.database_url + "?connect_timeout=9"  # an engine of its own: 300 ms timeout
    for name in ("WANGGE_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("WANGGE_STATEMENT_TIMEOUT_MS", "300")
    with owner_engine.connect() as lock:
        lock.execute(text("LOCK TABLE grid IN ACCESS EXCLUSIVE MODE"))
        at.run(timeout=20)
        lock.rollback()
    assert not at.exception
    assert at.error and "数据库无法连接" in at.error[0].value, _text(at)
    assert "查询用时过长，已被取消（语句超时）" in at.error[0].value, at.error[0].value
