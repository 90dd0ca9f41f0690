#!/usr/bin/env bash
# Stop the repo-local PostgreSQL cluster started by scripts/bootstrap.sh
# (data dir .pgdata/ in the repo root, or /var/tmp/wangge-pg-<hash> when the
# postgres user cannot enter the repo). Does nothing when it is not running.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PGBIN=/usr/lib/postgresql/15/bin
hash="$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"

if [[ $EUID -eq 0 ]]; then
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    as_pg() { "$@"; }
fi

found=0
for dir in "$REPO/.pgdata" "/var/tmp/wangge-pg-$hash"; do
    [[ -f "$dir/PG_VERSION" ]] || continue
    found=1
    if as_pg "$PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        echo "pg-stop: stopping PostgreSQL ($dir)" >&2
        as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
    else
        echo "pg-stop: PostgreSQL ($dir) is not running" >&2
    fi
done
[[ $found -eq 1 ]] || echo "pg-stop: no local cluster for $REPO" >&2
exit 0
