"""What the tests serve on a local port: a free port for it and the wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 40) -> None:
    """Wait until ``url`` answers (any status below 500); TimeoutError naming it after
    ``timeout`` seconds, or as soon as ``proc`` (the process serving it) has exited."""
    end = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if proc is not None and proc.poll() is not None:
            raise TimeoutError(f"{url}: its process exited (code {proc.returncode}) "
                               "before it answered")
        if time.monotonic() > end:
            raise TimeoutError(f"{url} did not answer within {timeout:g} s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """End ``proc``: SIGTERM, then SIGKILL if it is still running after ``timeout`` seconds
    (a server left behind would load the machine under every later test)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
