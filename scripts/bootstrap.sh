#!/usr/bin/env bash
# Bootstrap a Wangge development / CI environment.
#
#   scripts/bootstrap.sh [--browser]
#
# * installs the system packages (PostgreSQL 15 + PostGIS 3, python3-venv and,
#   with --browser, chromium for the Playwright tests) when they are missing;
# * creates .venv and runs `pip install -c constraints.txt -e '.[dev]'` when pyproject.toml
#   or constraints.txt is newer than .venv/.installed-stamp;
# * unless DATABASE_URL is set, initialises and starts a repo-local PostgreSQL 15
#   cluster (data dir .pgdata/, port $WANGGE_PG_PORT or 55432, 127.0.0.1 only)
#   with the owner role and database `wangge`, the platform's role `wangge_app` and the
#   postgis extension.
#
# Idempotent: a second run only checks and takes a second or two.
#
# Output: all progress goes to stderr; the LAST line on stdout is
#   export DATABASE_URL=postgresql://wangge_app@127.0.0.1:55432/wangge \
#          WANGGE_OWNER_DATABASE_URL=postgresql://wangge@127.0.0.1:55432/wangge
# so callers can `eval "$(scripts/bootstrap.sh)"`.
#
# Environment:
#   DATABASE_URL        use this (existing PostGIS) database; no local cluster
#   WANGGE_PG_PORT      port of the local cluster (default 55432; when unset and
#                       55432 is taken by something else, the next free port is used)
#   WANGGE_PYTHON       python interpreter used to create .venv
#   WANGGE_SKIP_PYTHON  =1: skip the venv / pip step
set -euo pipefail

# Keep stdout for the final `export DATABASE_URL=...` line only.
exec 3>&1 1>&2

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

WANT_BROWSER=0
for arg in "$@"; do
    case "$arg" in
        --browser) WANT_BROWSER=1 ;;
        -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (usage: scripts/bootstrap.sh [--browser])" ;;
    esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PGBIN=/usr/lib/postgresql/15/bin
PG_PKGS=(postgresql-15 postgresql-15-postgis-3)
SKIP_PYTHON="${WANGGE_SKIP_PYTHON:-0}"
USE_LOCAL_PG=1
[[ -n "${DATABASE_URL:-}" ]] && USE_LOCAL_PG=0

if [[ $EUID -eq 0 ]]; then
    SUDO=()
    CAN_ROOT=1
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
    CAN_ROOT=1
else
    SUDO=()
    CAN_ROOT=0
fi

pkg_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

apt_candidate() {  # prints the candidate version, empty when apt does not know the package
    local c
    c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [[ "$c" == "(none)" ]] && c=""
    printf '%s' "$c"
}

# Run an apt-get command; when another apt/dpkg holds the lock, wait and retry
# (up to ~15 minutes) instead of failing.
apt_get() {
    local out rc tries=0
    out="$(mktemp)"
    while :; do
        rc=0
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=300 "$@" 2>&1 | tee "$out" >&2 || rc=$?
        if [[ $rc -eq 0 ]]; then
            rm -f "$out"
            return 0
        fi
        if grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it' "$out" \
                && [[ $tries -lt 90 ]]; then
            tries=$((tries + 1))
            log "apt/dpkg lock is held by another process; waiting (try $tries)..."
            sleep 10
            continue
        fi
        rm -f "$out"
        return "$rc"
    done
}

pgdg_help() {
    cat >&2 <<'EOF'
bootstrap: apt has no package postgresql-15-postgis-3 (e.g. Ubuntu or Debian without
bootstrap: the PostgreSQL Global Development Group repository). Either
bootstrap:   * add the PGDG apt repository (https://wiki.postgresql.org/wiki/Apt):
bootstrap:       sudo apt-get install -y postgresql-common
bootstrap:       sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh
bootstrap:       sudo apt-get install -y postgresql-15 postgresql-15-postgis-3
bootstrap:   * or point Wangge at an existing PostgreSQL + PostGIS database:
bootstrap:       export DATABASE_URL=postgresql://USER@HOST:PORT/DBNAME
EOF
}

# --------------------------------------------------------------------------
# Python interpreter (>= 3.11)
# --------------------------------------------------------------------------
PY=""
PY_VER=""
py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; }

venv_usable() {
    [[ -x "$REPO/.venv/bin/python" ]] && py_ok "$REPO/.venv/bin/python" \
        && "$REPO/.venv/bin/python" -c 'import pip' 2>/dev/null
}

find_python() {
    local cands=() c
    [[ -n "${WANGGE_PYTHON:-}" ]] && cands+=("$WANGGE_PYTHON")
    cands+=(python3.13 python3.12 python3.11 python3)
    for c in "${cands[@]}"; do
        if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then
            PY="$(command -v "$c")"
            PY_VER="$(py_version "$PY")"
            return 0
        fi
    done
    return 1
}

# --------------------------------------------------------------------------
# 1. System packages
# --------------------------------------------------------------------------
MISSING=()
if [[ $USE_LOCAL_PG -eq 1 ]]; then
    for p in "${PG_PKGS[@]}"; do
        pkg_installed "$p" || MISSING+=("$p")
    done
    if [[ ${#MISSING[@]} -eq 0 && ! -x "$PGBIN/initdb" ]]; then
        MISSING+=(postgresql-15)
    fi
fi

NEED_PY_CHECK=0
if [[ "$SKIP_PYTHON" != 1 ]] && ! venv_usable; then
    NEED_PY_CHECK=1
    if find_python; then
        # Debian/Ubuntu split venv/ensurepip into pythonX.Y-venv.
        if [[ "$PY" == /usr/bin/* ]] && command -v dpkg >/dev/null 2>&1 \
                && ! pkg_installed "python${PY_VER}-venv"; then
            sys_py_ver="$(py_version /usr/bin/python3 || true)"
            if [[ "$sys_py_ver" == "$PY_VER" ]]; then
                MISSING+=(python3-venv)
            else
                MISSING+=("python${PY_VER}-venv")
            fi
        fi
    elif ! command -v python3 >/dev/null 2>&1; then
        MISSING+=(python3 python3-venv)
    else
        die "Python >= 3.11 is required, but python3 is $(python3 --version 2>&1). Install Python 3.11+ (or set WANGGE_PYTHON=/path/to/python3.11+) and rerun."
    fi
fi

if [[ $WANT_BROWSER -eq 1 && ! -x /usr/bin/chromium ]]; then
    MISSING+=(chromium)
fi
# A CJK font so that pages rendered on this machine (the tests' screenshots, a browser on a
# district's desk machine) show Chinese, not empty boxes: for `start` as well as the tests.
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
    MISSING+=(fonts-wqy-microhei)
fi

if [[ ${#MISSING[@]} -gt 0 ]]; then
    log "missing system packages: ${MISSING[*]}"
    if ! command -v apt-get >/dev/null 2>&1; then
        die "no apt-get on this system; install the equivalent of: ${MISSING[*]} (or set DATABASE_URL to an existing PostGIS database)"
    fi
    if [[ $CAN_ROOT -eq 0 ]]; then
        log "not root and no password-less sudo; please run:"
        log "  sudo apt-get update && sudo apt-get install -y ${MISSING[*]}"
        if [[ " ${MISSING[*]} " == *" postgresql-15-postgis-3 "* && -z "$(apt_candidate postgresql-15-postgis-3)" ]]; then
            pgdg_help
        fi
        exit 1
    fi
    apt_get update || die "apt-get update failed"
    if [[ " ${MISSING[*]} " == *" postgresql-15-postgis-3 "* && -z "$(apt_candidate postgresql-15-postgis-3)" ]]; then
        pgdg_help
        exit 1
    fi
    apt_get install -y "${MISSING[@]}" || die "apt-get install ${MISSING[*]} failed"
fi

# --------------------------------------------------------------------------
# 2. Python virtualenv + editable install
# --------------------------------------------------------------------------
if [[ "$SKIP_PYTHON" == 1 ]]; then
    log "WANGGE_SKIP_PYTHON=1: skipping the venv / pip step"
else
    VENV="$REPO/.venv"
    STAMP="$VENV/.installed-stamp"
    if [[ $NEED_PY_CHECK -eq 1 ]]; then
        [[ -n "$PY" ]] || find_python || die "Python >= 3.11 not found (set WANGGE_PYTHON)"
        if [[ -e "$VENV" ]]; then
            log ".venv exists but is unusable (broken, Python < 3.11 or no pip): recreating it"
            rm -rf "$VENV"
        fi
        log "creating .venv with $PY (Python $PY_VER)"
        if ! "$PY" -m venv "$VENV"; then
            rm -rf "$VENV"
            die "'$PY -m venv' failed; install the venv support for Python $PY_VER (Debian/Ubuntu: apt-get install python3-venv or python${PY_VER}-venv)"
        fi
    fi
    [[ -f "$REPO/pyproject.toml" ]] || die "no pyproject.toml in $REPO (set WANGGE_SKIP_PYTHON=1 to skip the Python step)"
    # constraints.txt: the versions the suite last passed with (CI gets what was tested)
    if [[ ! -f "$STAMP" || "$REPO/pyproject.toml" -nt "$STAMP" \
          || "$REPO/constraints.txt" -nt "$STAMP" ]]; then
        log "installing the project into .venv: pip install -c constraints.txt -e '.[dev]'"
        (cd "$REPO" && "$VENV/bin/python" -m pip install --disable-pip-version-check \
            --progress-bar off -c constraints.txt -e '.[dev]') \
            || die "pip install -c constraints.txt -e '.[dev]' failed"
        touch "$STAMP"
    else
        log ".venv is up to date (pyproject.toml and constraints.txt not newer than .venv/.installed-stamp)"
    fi
fi

# --------------------------------------------------------------------------
# 3a. External database (DATABASE_URL set): just check it
# --------------------------------------------------------------------------
if [[ $USE_LOCAL_PG -eq 0 ]]; then
    if command -v psql >/dev/null 2>&1; then
        v="$(PGCONNECT_TIMEOUT=10 psql "$DATABASE_URL" -X -Atq -c 'select postgis_version()' 2>&1)" \
            || die "DATABASE_URL is set but 'select postgis_version()' failed: $v
bootstrap: (the database must be reachable and have the postgis extension: CREATE EXTENSION postgis)"
        log "using DATABASE_URL (PostGIS $v)"
    else
        log "DATABASE_URL is set and psql is not installed; leaving the database check to the app"
    fi
    printf 'export DATABASE_URL=%q WANGGE_OWNER_DATABASE_URL=%q\n' "$DATABASE_URL" \
        "${WANGGE_OWNER_DATABASE_URL:-$DATABASE_URL}" >&3
    exit 0
fi

# --------------------------------------------------------------------------
# 3b. Local PostgreSQL 15 cluster owned by the repo
# --------------------------------------------------------------------------
# PostgreSQL refuses to run as root: as root, the cluster belongs to the system
# user `postgres` and every server binary runs through runuser.
if [[ $EUID -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        log "creating system user postgres"
        useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
            --shell /usr/sbin/nologin postgres
    fi
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    as_pg() { "$@"; }
fi

DATADIR="$REPO/.pgdata"
if [[ $EUID -eq 0 ]] && ! as_pg test -x "$REPO"; then
    # postgres cannot enter the repo (e.g. it lives under /root): keep the data
    # dir in a per-repo directory under /var/tmp instead.
    hash="$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
    DATADIR="/var/tmp/wangge-pg-$hash"
    log "user postgres cannot traverse to $REPO; using data dir $DATADIR"
fi
LOGFILE="$DATADIR/server.log"

# The unix socket lives in the data dir unless its path would exceed the
# 107-byte sun_path limit, then in /tmp.
SOCKDIR="$DATADIR"
if [[ $(( ${#DATADIR} + 20 )) -gt 100 ]]; then
    SOCKDIR=/tmp
fi

port_busy() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_running() { as_pg "$PGBIN/pg_ctl" -D "$DATADIR" status >/dev/null 2>&1; }

# --- initdb when there is no cluster yet
if [[ ! -f "$DATADIR/PG_VERSION" ]]; then
    if [[ -d "$DATADIR" && -n "$(ls -A "$DATADIR" 2>/dev/null)" ]]; then
        die "$DATADIR exists, is not empty and holds no PostgreSQL cluster; remove it and rerun"
    fi
    log "initialising PostgreSQL 15 cluster in $DATADIR"
    mkdir -p "$DATADIR"
    chmod 700 "$DATADIR"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$DATADIR"
    # Dev cluster: `trust` auth is acceptable only because the server listens on
    # 127.0.0.1 and on a unix socket in a 0700 directory -- never expose it.
    as_pg "$PGBIN/initdb" -D "$DATADIR" --username=postgres --auth=trust \
        --encoding=UTF8 --locale=C >"$DATADIR.initdb.log" 2>&1 || {
        cat "$DATADIR.initdb.log" >&2
        rm -f "$DATADIR.initdb.log"
        die "initdb failed"
    }
    rm -f "$DATADIR.initdb.log"
    printf "\n# Wangge dev settings (written by scripts/bootstrap.sh)\ninclude_if_exists = 'wangge.conf'\n" \
        | as_pg tee -a "$DATADIR/postgresql.conf" >/dev/null
elif [[ $EUID -eq 0 && "$(stat -c %U "$DATADIR")" != postgres ]]; then
    log "fixing ownership of $DATADIR"
    chown -R postgres:postgres "$DATADIR"
fi

# --- choose the port
RUNNING=0
pg_running && RUNNING=1
CUR_PORT=""
if [[ $RUNNING -eq 1 && -f "$DATADIR/postmaster.pid" ]]; then
    CUR_PORT="$(sed -n 4p "$DATADIR/postmaster.pid")"
fi
CONF_PORT="$(sed -n "s/^port = \([0-9]*\).*/\1/p" "$DATADIR/wangge.conf" 2>/dev/null || true)"

if [[ -n "${WANGGE_PG_PORT:-}" ]]; then
    [[ "$WANGGE_PG_PORT" =~ ^[0-9]+$ ]] || die "WANGGE_PG_PORT must be a number"
    PORT="$WANGGE_PG_PORT"
    if [[ "$CUR_PORT" != "$PORT" ]] && port_busy "$PORT"; then
        die "port $PORT (WANGGE_PG_PORT) is already in use by another process"
    fi
elif [[ -n "$CUR_PORT" ]]; then
    PORT="$CUR_PORT"
else
    # Not running: prefer the port of the existing config, then 55432, then the
    # next free one (e.g. another checkout's cluster already holds 55432).
    PORT=""
    for p in $CONF_PORT $(seq 55432 55532); do
        if ! port_busy "$p"; then PORT="$p"; break; fi
    done
    [[ -n "$PORT" ]] || die "no free port in 55432-55532; set WANGGE_PG_PORT"
    [[ "$PORT" == 55432 || "$PORT" == "$CONF_PORT" ]] \
        || log "port 55432 is in use by another process; using port $PORT"
fi

# --- dev settings (rewritten every run; restart when they changed)
CONF_NEW="# Written by scripts/bootstrap.sh -- local development cluster.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKDIR'
max_connections = 200
shared_buffers = 256MB
fsync = on
# an activation at city scale writes about 1 GB of WAL: with 1 GB here it set off two or three
# hurried checkpoints meanwhile, whose data-file writes stalled the reports' commits (README)
max_wal_size = 4GB
wal_compression = lz4
"
if [[ "$(cat "$DATADIR/wangge.conf" 2>/dev/null || true)"$'\n' != "$CONF_NEW" ]]; then
    printf '%s' "$CONF_NEW" | as_pg tee "$DATADIR/wangge.conf" >/dev/null
    if [[ $RUNNING -eq 1 ]]; then
        log "settings changed: restarting the cluster"
        as_pg "$PGBIN/pg_ctl" -D "$DATADIR" -m fast -w stop >/dev/null
        RUNNING=0
    fi
fi

# --- start
if [[ $RUNNING -eq 0 ]]; then
    log "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOGFILE)"
    # 3>&-: the postmaster must not inherit the stdout pipe kept on fd 3, or a
    # caller's $(scripts/bootstrap.sh) would wait for it forever.
    if ! as_pg "$PGBIN/pg_ctl" -D "$DATADIR" -l "$LOGFILE" -w -t 60 start >/dev/null 3>&-; then
        tail -n 30 "$LOGFILE" >&2 || true
        die "could not start PostgreSQL (see $LOGFILE)"
    fi
else
    log "PostgreSQL already running on 127.0.0.1:$PORT ($DATADIR)"
fi

for _ in $(seq 1 60); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || die "PostgreSQL on port $PORT is not ready (see $LOGFILE)"

# --- role, database, extension
psql_admin() {  # psql_admin DB SQL
    PGCONNECT_TIMEOUT=10 "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -Atq \
        -h 127.0.0.1 -p "$PORT" -U postgres -d "$1" -c "$2"
}
# Two roles (least privilege): `wangge` owns the database and its tables and runs the
# migrations and the loads that need DDL; `wangge_app` is what the API, the dashboard and the
# scheduled commands use: no superuser, no DDL; `wangge db upgrade` grants it data rights.
ensure_role() {  # ensure_role NAME ATTRIBUTES
    if [[ "$(psql_admin postgres "select 1 from pg_roles where rolname = '$1'")" != 1 ]]; then
        log "creating role $1"
        psql_admin postgres "create role $1 $2"
    else
        psql_admin postgres "alter role $1 $2"
    fi
}
ensure_role wangge "login nosuperuser createdb nocreaterole"
ensure_role wangge_app "login nosuperuser nocreatedb nocreaterole"
# the owner may end the platform role's sessions (DROP DATABASE ... WITH (FORCE) in the tests)
psql_admin postgres "set client_min_messages = warning; grant wangge_app to wangge"
# the owner may request a checkpoint: the benchmarks start their measured phase after one, so
# the checkpoint their own seeding made necessary does not land in it (bench/common.py)
psql_admin postgres "set client_min_messages = warning; grant pg_checkpoint to wangge"
# PostGIS is not a trusted extension: put it in template1 so that databases the owner creates
# (the tests' database) have it without a superuser
psql_admin template1 "set client_min_messages = warning; create extension if not exists postgis"
if [[ "$(psql_admin postgres "select 1 from pg_database where datname = 'wangge'")" != 1 ]]; then
    log "creating database wangge"
    psql_admin postgres "create database wangge owner wangge"
fi
psql_admin wangge "set client_min_messages = warning; create extension if not exists postgis"
log "PostGIS $(psql_admin wangge 'select postgis_lib_version()') ready in database wangge"

printf 'export DATABASE_URL=%q WANGGE_OWNER_DATABASE_URL=%q\n' \
    "postgresql://wangge_app@127.0.0.1:$PORT/wangge" "postgresql://wangge@127.0.0.1:$PORT/wangge" >&3
