"""Stopping `wangge demo` (SIGTERM, Ctrl-C) stops its dashboard child: the port is free after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.served import free_port

ROOT = Path(__file__).resolve().parents[2]


def _listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pids_with(arg: str) -> list[int]:
    """Processes whose command line holds ``arg`` as one argument (found in /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if arg.encode() in argv and b"streamlit" in b" ".join(argv):
            out.append(int(d.name))
    return out


def _wait(cond, timeout: float) -> bool:
    """Poll ``cond`` until true or ``timeout`` seconds passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_the_demo_stops_the_dashboard(settings, demo_district, sig) -> None:
    api_port, dash_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update({"DATABASE_URL": settings.database_url, "WANGGE_AUTH_REQUIRED": "false",
                "PYTHONUNBUFFERED": "1"})
    env.pop("WANGGE_DATABASE_URL", None)
    demo = subprocess.Popen(
        [sys.executable, "-c", "from wangge.cli import main; main()", "demo", "--port",
         str(api_port), "--dashboard-port", str(dash_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        up = _wait(lambda: _listening(api_port) and _listening(dash_port) or
                   demo.poll() is not None, 90)
        assert up and demo.poll() is None, demo.stdout.read().decode()[-3000:] \
            if demo.poll() is not None else "demo did not come up"
        assert _pids_with(str(dash_port)), "no dashboard process found"
        demo.send_signal(sig)
        demo.wait(timeout=60)
        assert _wait(lambda: not _listening(dash_port), 15), \
            f"the dashboard still listens on {dash_port} after the demo stopped"
        assert _wait(lambda: not _pids_with(str(dash_port)), 15), "dashboard process left"
        assert not _listening(api_port)
    finally:
        for pid in _pids_with(str(dash_port)):  # leftovers of this test only
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        demo.stdout.close()
