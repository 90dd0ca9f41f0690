"""What the tests serve on a local port: a free port for it and the wait until it answers."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from typing import IO

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen | threading.Thread | None = None,
            timeout: float = 40) -> None:
    """Wait until ``url`` answers (any status below 500); TimeoutError naming it and the last
    answer seen after ``timeout`` seconds, or as soon as ``proc`` (the process or the thread
    serving it) has ended."""
    end = time.monotonic() + timeout
    last = "nothing"
    while True:
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code < 500:
                return
            last = f"{r.status_code}: {r.text[:300]}"
        except httpx.HTTPError as e:
            last = repr(e)
        if isinstance(proc, threading.Thread) and not proc.is_alive():
            raise TimeoutError(f"{url}: its server thread ended before it answered "
                               f"(its log above); last: {last}")
        if isinstance(proc, subprocess.Popen) and proc.poll() is not None:
            raise TimeoutError(f"{url}: its process exited (code {proc.returncode}) "
                               "before it answered")
        if time.monotonic() > end:
            raise TimeoutError(f"{url} did not answer within {timeout:g} s; last: {last}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, timeout: float = 10, log: IO[bytes] | None = None) -> None:
    """End ``proc``: SIGTERM, then, if it still runs after ``timeout`` seconds, SIGABRT (a
    Python started with PYTHONFAULTHANDLER=1 writes every thread's stack to its stderr,
    ``log``, printed here) and SIGKILL: a server left behind would load every later test."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(signal.SIGABRT)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
    if log is not None:
        log.seek(0)
        print(f"{proc.args!r} did not stop within {timeout:g} s of SIGTERM; its stderr ends:\n"
              + log.read()[-6000:].decode(errors="replace"))
