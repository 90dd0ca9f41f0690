"""`wangge serve --workers N`: N processes share the port, each holding its share of the
connections; one that dies is started again; SIGTERM stops them all; a taken port is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.served import free_port, stop, wait_up

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 40


def _serve(settings, port: int, workers: int = 2) -> subprocess.Popen:
    """`wangge serve --workers` on the test database, in its own session."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update({"DATABASE_URL": settings.database_url, "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen(
        [sys.executable, "-c", "from wangge.cli import main; main()", "serve", "--port",
         str(port), "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)


def _workers(pid: int) -> list[int]:
    """The serving children of ``pid`` (multiprocessing's resource tracker left out)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    out = []
    for k in kids:
        try:
            cmd = Path(f"/proc/{k}/cmdline").read_bytes()
            state = Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"spawn_main" in cmd and state != "Z":
            out.append(int(k))
    return out


def _established(port: int) -> set[int]:
    """Socket inodes of the established connections to 127.0.0.1:``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "01" and int(f[1].split(":")[1], 16) == port:
            inodes.add(int(f[9]))
    return inodes


def _held(pid: int, inodes: set[int]) -> int:
    """How many of ``inodes`` process ``pid`` holds open."""
    n = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:[") and int(link[8:-1]) in inodes:
            n += 1
    return n


def _ask(sock: socket.socket) -> bytes:
    """One HTTP request on an open connection; the status line."""
    sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n")
    return sock.recv(64).split(b"\r\n", 1)[0]


def _wait(cond, timeout: float) -> bool:
    """Poll ``cond`` until true or ``timeout`` seconds passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture()
def served(settings, clean_db) -> Iterator[tuple[subprocess.Popen, int]]:
    """`wangge serve --workers 2` answering on a free port; stopped after the test."""
    port = free_port()
    proc = _serve(settings, port)
    try:
        wait_up(f"http://127.0.0.1:{port}/openapi.json", proc, timeout=60)
        assert _wait(lambda: len(_workers(proc.pid)) == 2, 30)
        yield proc, port
    finally:
        if proc.poll() is None:
            stop(proc, timeout=20)
        for pid in _workers(proc.pid) if proc.poll() is None else []:
            os.kill(pid, signal.SIGKILL)


def test_every_worker_takes_its_share_of_the_connections(served) -> None:
    proc, port = served
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
             for _ in range(CONNECTIONS)]
    try:
        assert {_ask(s) for s in socks} == {b"HTTP/1.1 200 OK"}
        inodes = _established(port)
        held = {pid: _held(pid, inodes) for pid in _workers(proc.pid)}
        assert sum(held.values()) == CONNECTIONS, held
        # spread by the kernel over both sockets (fewer than 5 of 40: odds below 1 in 10^6)
        assert min(held.values()) >= 5, held
    finally:
        for s in socks:
            s.close()


def test_a_worker_that_dies_is_replaced_and_sigterm_stops_all(served) -> None:
    proc, port = served
    first = _workers(proc.pid)
    os.kill(first[0], signal.SIGKILL)
    assert _wait(lambda: len(_workers(proc.pid)) == 2 and first[0] not in _workers(proc.pid),
                 30), "the killed worker was not started again"
    wait_up(f"http://127.0.0.1:{port}/openapi.json", proc, timeout=60)
    kids = _workers(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    out = proc.stdout.read().decode(errors="replace")
    assert f"API worker {first[0]} ended" in out
    assert _wait(lambda: not any(Path(f"/proc/{k}").exists() for k in kids), 15)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something still listens"


def test_a_taken_port_is_refused_naming_it(settings, clean_db) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(settings, port)
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode == 2
    assert "port_in_use" in out and f"端口 127.0.0.1:{port} 不可用" in out
