"""Throw-away PostgreSQL 15 clusters in a temporary folder: a primary and its hot standby.

The binaries are the ones ``scripts/bootstrap.sh`` makes the shared cluster with
(``/usr/lib/postgresql/15/bin``, or ``WANGGE_PGBIN``); as root every server binary runs as the
system user ``postgres``, as in the script. The shared cluster on 55432 is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from support.served import free_port

PGBIN = Path(os.environ.get("WANGGE_PGBIN", "/usr/lib/postgresql/15/bin"))
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sock}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_connections = 40
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
"""


def _as_pg(args: list[str]) -> list[str]:
    """``args`` run as the system user postgres when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], timeout: float = 60) -> str:
    """Run a PostgreSQL binary; its output in the error when it fails."""
    p = subprocess.run(_as_pg(args), cwd="/", capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {p.stdout}{p.stderr}")
    return p.stdout


@dataclass
class Cluster:
    """One running (or stopped) server of a throw-away cluster."""

    data: Path
    port: int

    def url(self, user: str = "postgres", database: str = "postgres") -> str:
        """Its URL for ``user`` on ``database``."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        _run([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"),
              "-w", "-t", "60", "start"])

    def stop(self) -> None:
        """Stop it (fast: sessions are ended)."""
        _run([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "60",
              "stop"])

    def running(self) -> bool:
        """True while its postmaster runs."""
        p = subprocess.run(_as_pg([str(PGBIN / "pg_ctl"), "-D", str(self.data), "status"]),
                           cwd="/", capture_output=True)
        return p.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """One statement as the superuser postgres; its output, unaligned."""
        return _run([str(PGBIN / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-Atq", "-h",
                     "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                     "-c", sql]).strip()


class Pair:
    """A primary with ``wal_level=replica`` and a streaming hot standby, in a temp folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wangge-replica-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = Cluster(self.root / "primary", free_port())
        self.standby = Cluster(self.root / "standby", free_port())

    def start_primary(self) -> Cluster:
        """initdb (trust on 127.0.0.1 only, as the shared dev cluster) and start the primary."""
        _run([str(PGBIN / "initdb"), "-D", str(self.primary.data), "--username=postgres",
              "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], timeout=120)
        conf = PRIMARY_CONF.format(port=self.primary.port, sock=self.root)
        _append(self.primary.data / "postgresql.conf", conf)
        self.primary.start()
        return self.primary

    def start_standby(self) -> Cluster:
        """``pg_basebackup -R`` of the primary, started on its own port as a hot standby."""
        _run([str(PGBIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port),
              "-U", "postgres", "-D", str(self.standby.data), "-R", "-X", "stream",
              "-c", "fast", "--no-sync"], timeout=120)
        _append(self.standby.data / "postgresql.auto.conf", f"port = {self.standby.port}\n")
        self.standby.start()
        return self.standby

    def close(self) -> None:
        """Stop both servers and delete the folder."""
        for c in (self.standby, self.primary):
            if (c.data / "postmaster.pid").exists() and c.running():
                try:
                    c.stop()
                except (RuntimeError, subprocess.TimeoutExpired):
                    _run([str(PGBIN / "pg_ctl"), "-D", str(c.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)


def _append(path: Path, text: str) -> None:
    """Append ``text`` to a file of a cluster (as its owner)."""
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def wait_for(predicate, what: str, timeout_s: float = 30.0, every_s: float = 0.1):
    """Poll ``predicate`` until it returns something true; AssertionError naming ``what``
    after ``timeout_s`` (a wait for a condition, not a timed assertion)."""
    end = time.monotonic() + timeout_s
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"still waiting for {what} after {timeout_s:.0f} s")
        time.sleep(every_s)
