"""wangge boundaries suggest: weights, spread per community and the import preview printed;
bad options exit 1 with the reason."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from support.suggest import crowd
from typer.testing import CliRunner

from wangge.cli import app


def test_the_command_prints_weights_spread_and_preview(
        settings, clean_db: Engine, demo_district: int, tmp_path: Path, monkeypatch) -> None:
    """The CLI: one community, weights and spread printed, the import preview, exit 0; a
    month count of 0 exits 1 with the reason."""
    crowd(clean_db)
    out = tmp_path / "s.geojson"
    monkeypatch.delenv("WANGGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    res = runner.invoke(app, ["boundaries", "suggest", str(out), "--months", "3",
                              "--community", "320508001001", "--w-events", "2"])
    assert res.exit_code == 0, res.output
    assert "单元工作量 = 2×每月事件数" in res.output
    assert "320508001001" in res.output and "320508001002" not in res.output.split("预览")[0]
    assert "可以导入" in res.output and "预览 preview" in res.output
    assert out.exists()
    bad = runner.invoke(app, ["boundaries", "suggest", str(tmp_path / "x.geojson"),
                              "--months", "0"])
    assert bad.exit_code == 1 and "月数" in bad.output
