#!/usr/bin/env bash
# Wangge developer entry point.
#
#   ./dev.sh start [args]         bootstrap, then run `wangge demo [args]`
#                                 (migrations, demo district, API + dashboard)
#   ./dev.sh test [pytest args]   bootstrap (with chromium), then run pytest on
#                                 every core, at most 4 (pytest-xdist, one test
#                                 database per worker; -n 0 runs serially)
#
# The environment (system packages, .venv, local PostGIS cluster) is set up by
# scripts/bootstrap.sh. Set DATABASE_URL to use an existing PostGIS database
# instead of the repo-local cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$ROOT"

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# Run scripts/bootstrap.sh and take DATABASE_URL from its last stdout line
# unless DATABASE_URL is already set.
bootstrap() {
    local out last
    out="$(bash "$ROOT/scripts/bootstrap.sh" "$@")" || {
        echo "dev.sh: scripts/bootstrap.sh failed" >&2
        exit 1
    }
    last="$(printf '%s\n' "$out" | tail -n 1)"
    if [[ -z "${DATABASE_URL:-}" ]]; then
        [[ "$last" == "export DATABASE_URL="* ]] || {
            echo "dev.sh: unexpected output from scripts/bootstrap.sh: $last" >&2
            exit 1
        }
        eval "$last"
        LOCAL_PG=1
    fi
    export DATABASE_URL
}

LOCAL_PG=0
cmd="${1:-}"
case "$cmd" in
    start)
        shift
        bootstrap
        echo "dev.sh: DATABASE_URL=$DATABASE_URL" >&2
        exec "$ROOT/.venv/bin/wangge" demo "$@"
        ;;
    test)
        shift
        bootstrap --browser
        echo "dev.sh: DATABASE_URL=$DATABASE_URL" >&2
        rc=0
        # a worker per core, at most 4 (each holds its own connections, browser and servers);
        # a file's tests stay together on one worker, and the browser tests all on one
        # (tests/conftest.py: pytest_collection_modifyitems)
        par=(-n auto --maxprocesses 4 --dist loadgroup)
        for a in "$@"; do [[ "$a" == -n* || "$a" == --numprocesses* ]] && par=(); done
        "$ROOT/.venv/bin/python" -m pytest "${par[@]}" "$@" || rc=$?
        # In CI, do not leave the clone's database server running behind.
        if [[ "${CI:-}" == true && $LOCAL_PG -eq 1 ]]; then
            bash "$ROOT/scripts/pg-stop.sh" || true
        fi
        if [[ $rc -eq 5 ]]; then
            echo "dev.sh: pytest collected no tests (exit 5); treating this as a failure" >&2
            exit 1
        fi
        exit "$rc"
        ;;
    *)
        usage
        case "$cmd" in
            -h|--help|help) exit 0 ;;
            "") exit 2 ;;
            *) echo "dev.sh: unknown command: $cmd" >&2; exit 2 ;;
        esac
        ;;
esac
