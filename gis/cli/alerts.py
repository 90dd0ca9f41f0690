"""``wangge alerts deliver [--once]``: deliver the alert outbox to the configured webhooks."""

from __future__ import annotations

import time
from typing import Annotated

import typer

app = typer.Typer(help="Alerts (告警): the webhook outbox.", no_args_is_help=True)


@app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.", min=0.5)] = 5.0,
) -> None:
    """Deliver due alerts to every webhook of WANGGE_ALERT_WEBHOOKS (retries with back-off)."""
    from gis.cli.core import engine, settings
    from gis.workflow import alerts

    conf = settings()
    if not conf.alert_webhooks:
        typer.echo("no webhooks configured (WANGGE_ALERT_WEBHOOKS); nothing to deliver "
                   "(未配置告警推送地址)", err=True)
        raise typer.Exit(0)
    eng = engine()
    while True:
        n = alerts.deliver_due(eng, conf)
        typer.echo(f"delivered {n} (已推送 {n} 条)", err=True)
        if once:
            return
        time.sleep(interval)
