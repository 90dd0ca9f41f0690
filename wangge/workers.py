"""Serve the API from several processes, each listening on its own SO_REUSEPORT socket.

uvicorn's ``--workers`` shares one listening socket among its processes, and whichever is
awake takes the next connection: in ``bench.storm`` one process took nearly every
keep-alive connection while the other idled. With a socket of its own per process
(``SO_REUSEPORT``), the kernel spreads new connections over the processes evenly.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing as mp
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from gis.errors import InvalidInput

log = logging.getLogger("wangge.workers")

EARLY_EXIT_S = 10.0  # a worker that ends this soon after its start did not start
STOP_WAIT_S = 15.0  # how long a stopping worker may finish its requests


def listening_socket(host: str, port: int, reuse_port: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port``; with ``reuse_port``, one of a SO_REUSEPORT group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def check_port_free(host: str, port: int) -> None:
    """InvalidInput when something listens on ``host:port`` already."""
    try:
        listening_socket(host, port, reuse_port=False).close()
    except OSError as e:
        why = "is in use" if e.errno == errno.EADDRINUSE else f"cannot be bound ({e.strerror})"
        raise InvalidInput.field("port", f"端口 {host}:{port} 不可用 (port {why})",
                                 "port_in_use") from None


def run_worker(factory: str, host: str, port: int, log_level: str) -> None:
    """One worker process: the app ``factory`` builds, served on its own socket."""
    import uvicorn

    config = uvicorn.Config(factory, factory=True, log_level=log_level, access_log=False)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


class Workers:
    """``n`` worker processes on one port; one that ends while serving is started again."""

    def __init__(self, factory: str, host: str, port: int, n: int,
                 log_level: str = "info") -> None:
        self.args = (factory, host, port, log_level)
        self.n = n
        self.stopping = False
        self._ctx = mp.get_context("spawn")  # a fresh interpreter: no pool or thread copied
        self._procs: list[tuple[BaseProcess, float]] = []

    def _start(self) -> tuple[BaseProcess, float]:
        """Start one worker; (process, when)."""
        p = self._ctx.Process(target=run_worker, args=self.args, name="wangge-api")
        p.start()
        return p, time.monotonic()

    def _stop(self, _sig: int | None = None, _frame: FrameType | None = None) -> None:
        """Signal handler: stop serving."""
        self.stopping = True

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; 0, or 1 when the workers keep failing at start."""
        check_port_free(self.args[1], self.args[2])
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._procs = [self._start() for _ in range(self.n)]
        rc = failed = 0
        while not self.stopping:
            wait([p.sentinel for p, _t in self._procs], timeout=0.5)
            for i, (p, started) in enumerate(self._procs):
                if p.is_alive() or self.stopping:
                    continue
                failed = failed + 1 if time.monotonic() - started < EARLY_EXIT_S else 0
                if failed > self.n:
                    log.error("API workers keep ending at start (last exit code %s)", p.exitcode)
                    self.stopping, rc = True, 1
                    break
                log.warning("API worker %s ended (exit code %s); starting another",
                            p.pid, p.exitcode)
                self._procs[i] = self._start()
        self._stop_all()
        return rc

    def _stop_all(self) -> None:
        """SIGTERM every worker (uvicorn finishes its requests), SIGKILL what is left."""
        for p, _t in self._procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + STOP_WAIT_S
        for p, _t in self._procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()


def serve(factory: str, host: str, port: int, n: int, log_level: str = "info") -> int:
    """Serve ``factory`` (``module:function``) from ``n`` processes; the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    return Workers(factory, host, port, n, log_level).run()
