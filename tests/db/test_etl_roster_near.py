"""Issue 11 §6: roster reject reasons never echo phone or ID numbers; cameras near a point
report how many are in range and whether the list was cut."""

from __future__ import annotations

import json
import logging
import math

from sqlalchemy import text
from typer.testing import CliRunner

from etl import cameras, roster
from etl.units import M_PER_DEG

LON, LAT = 120.600, 31.305
PHONE, PHONE2, IDN = "13812345678", "15987654321", "11010519491231002X"


def test_misaligned_roster_rows_never_echo_phone_or_id_numbers(demo_district, engine, tmp_path,
                                                               caplog) -> None:
    with engine.connect() as c:
        grid = c.execute(text("SELECT code FROM grid ORDER BY code LIMIT 1")).scalar_one()
    head = "worker_code,name,phone,id_number,role,area_code,valid_from,valid_to\n"
    f = tmp_path / "shifted.csv"
    f.write_text(head
                 # a column missing: the ID lands in role, the role in area_code
                 + f"M1,张三,{PHONE},full_time,{IDN},{grid},,\n"
                 # the phone in the worker code, the role and the area
                 + f"{PHONE2},李四,,,{PHONE},{PHONE2},,\n"
                 # the ID in the area code and a phone in the date
                 + f"M3,王五,,,full_time,{IDN},{PHONE},\n"
                 # a phone where the name was, named differently from an earlier row
                 + f"M4,赵六,,,full_time,{grid},,\n"
                 + f"M4,{PHONE},,,full_time,{grid},2024-01-01,\n", encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    r = roster.load_file(engine, f)
    assert r.rejected >= 5, r.to_dict()
    reasons = {x.code for x in r.rejects}
    assert {"bad_role", "unknown_area", "bad_date", "bad_id_number"} <= reasons
    out = r.write(tmp_path / "rep.json")
    dumped = (json.dumps(r.to_dict(), ensure_ascii=False) + caplog.text
              + out.read_text(encoding="utf-8")
              + (tmp_path / "rep.rejects.csv").read_text(encoding="utf-8"))
    for secret in (PHONE, PHONE2, IDN, IDN[:-1]):
        assert secret not in dumped
    assert "138****5678" in dumped and "110105**********2X" in dumped
    # known area codes and dates are not numbers to hide
    assert roster.mask_text(f"{grid} 2024-01-31 {PHONE}", {grid}) == f"{grid} 2024-01-31 " \
        "138****5678"


def test_cameras_near_report_the_total_and_whether_the_list_was_cut(api, settings, tmp_path,
                                                                     monkeypatch) -> None:
    engine = api.app.state.engine
    kx = M_PER_DEG * math.cos(math.radians(LAT))
    rows = ["code,lon,lat"]
    for i in range(129):  # 129 cameras within 150 m, 3 further out
        a, d = i * 2.4, 20 + i
        rows.append(f"N{i:03d},{LON + d * math.cos(a) / kx},{LAT + d * math.sin(a) / M_PER_DEG}")
    rows += [f"F{i},{LON + 0.01 * (i + 1)},{LAT}" for i in range(3)]
    (tmp_path / "n.csv").write_text("\n".join(rows) + "\n")
    assert cameras.load_file(engine, tmp_path / "n.csv", commit=True).inserted == 132
    res = api.get("/api/v1/cameras", params={"near": f"{LON},{LAT}", "radius": 200})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["count"], body["total"], body["truncated"], body["limit"]) == (50, 129, True, 50)
    assert len(body["cameras"]) == 50 and body["cameras"][0]["code"] == "N000"
    body = api.get("/api/v1/cameras", params={"near": f"{LON},{LAT}", "radius": 200,
                                              "limit": 500}).json()
    assert (body["count"], body["total"], body["truncated"]) == (129, 129, False)
    assert api.get("/api/v1/cameras", params={"near": f"{LON},{LAT}", "limit": 501}
                   ).status_code == 422
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    from wangge.cli import app

    res = CliRunner().invoke(app, ["etl", "near", str(LON), str(LAT), "--radius", "200",
                                   "--limit", "10"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["count"], out["total"], out["truncated"]) == (10, 129, True)
    assert "10 of 129" in res.stderr
    res = CliRunner().invoke(app, ["etl", "near", str(LON), str(LAT), "--limit", "0"])
    assert res.exit_code == 1 and "limit" in res.output
