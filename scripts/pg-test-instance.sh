#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   eval "$(scripts/pg-test-instance.sh start)"   # exports PG_TEST_DIR PG_TEST_PORT ROSTER_TEST_DATABASE_URL
#   scripts/pg-test-instance.sh stop "$PG_TEST_DIR"
#
# One temp directory holds everything: data directory, server log and unix socket. The server
# listens on 127.0.0.1 only, on a free port, and trades durability for speed. It has a superuser
# role roster (password roster, scram-sha-256 over TCP) and a database roster.
#
# Debian layout: the newest /usr/lib/postgresql/<major>/bin is used (override with PG_BINDIR).
# initdb and postgres refuse to run as root, so as root the cluster belongs to the `postgres`
# system user (or `roster-test`, created on demand if there is no `postgres` user).
set -euo pipefail

readonly MIN_MAJOR=15
readonly ROLE=roster PASSWORD=roster DATABASE=roster
readonly PORT_ATTEMPTS=5

log() { echo "pg-test-instance: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
  local bindir=${PG_BINDIR:-} major
  if [[ -z $bindir ]]; then
    bindir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  [[ -x $bindir/initdb ]] || die "no PostgreSQL server binaries found (apt-get install postgresql)"
  # "initdb (PostgreSQL) 15.18" -> 15
  major=$("$bindir/initdb" --version | awk '{ print $3 }')
  major=${major%%.*}
  ((major >= MIN_MAJOR)) || die "PostgreSQL $major in $bindir is too old, need $MIN_MAJOR+"
  echo "$bindir"
}

server_user() {
  if ((EUID != 0)); then
    id -un
  elif id -u postgres >/dev/null 2>&1; then
    echo postgres
  else
    id -u roster-test >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin roster-test >&2
    echo roster-test
  fi
}

# Run a command as the cluster owner. cd / first: the caller's working directory may not be
# readable by that user, and the PostgreSQL tools complain about it.
as_owner() { # USER COMMAND...
  local user=$1
  shift
  if ((EUID == 0)); then
    (cd / && runuser -u "$user" -- "$@")
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

init_cluster() { # BINDIR USER DIR
  local bindir=$1 user=$2 dir=$3
  printf '%s\n' "$PASSWORD" >"$dir/pwfile"
  chown -R "$user:" "$dir"
  # The bootstrap superuser is our role; local (socket) connections are trusted, TCP needs the
  # password, so the URL the tests get exercises real authentication.
  if ! as_owner "$user" "$bindir/initdb" --pgdata="$dir/data" --username="$ROLE" \
    --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    return 1
  fi
  rm -f "$dir/pwfile"
  # Later settings win, so appending overrides initdb's defaults. The cluster is disposable:
  # fsync & co. only cost time here.
  cat >>"$dir/data/postgresql.conf" <<EOF

# --- scripts/pg-test-instance.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

# Try a few ports: another process may grab the free port before the server binds it.
start_server() { # BINDIR USER DIR; prints the port
  local bindir=$1 user=$2 dir=$3 port attempt
  for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
    port=$(free_port)
    if as_owner "$user" "$bindir/pg_ctl" start --pgdata="$dir/data" --log="$dir/postgres.log" \
      --options="-p $port" --wait --timeout=30 >/dev/null 2>&1; then
      echo "$port"
      return 0
    fi
    log "start attempt $attempt on port $port failed"
  done
  return 1
}

create_database() { # BINDIR PORT
  PGPASSWORD=$PASSWORD "$1/psql" --no-psqlrc --quiet --set=ON_ERROR_STOP=1 \
    --host=127.0.0.1 --port="$2" --username="$ROLE" --dbname=postgres \
    --command="CREATE DATABASE $DATABASE" >&2
}

start() {
  local bindir user port
  bindir=$(find_bindir)
  user=$(server_user)
  # Not $TMPDIR: it may be under a home directory the server user cannot enter.
  instance_dir=$(mktemp -d "${PG_TEST_TMPROOT:-/tmp}/pg-test.XXXXXX")
  # Until the assignments are printed nobody else knows the directory, so clean up any failure.
  trap 'stop "$instance_dir"' EXIT
  init_cluster "$bindir" "$user" "$instance_dir"
  if ! port=$(start_server "$bindir" "$user" "$instance_dir"); then
    log "PostgreSQL did not start; end of postgres.log:"
    tail -n 30 "$instance_dir/postgres.log" >&2 || true
    exit 1
  fi
  create_database "$bindir" "$port"
  trap - EXIT
  printf 'PG_TEST_DIR=%q\n' "$instance_dir"
  printf 'PG_TEST_PORT=%q\n' "$port"
  printf 'ROSTER_TEST_DATABASE_URL=%q\n' "postgres://$ROLE:$PASSWORD@127.0.0.1:$port/$DATABASE"
  echo 'export PG_TEST_DIR PG_TEST_PORT ROSTER_TEST_DATABASE_URL'
}

stop() { # DIR
  local dir=${1:?usage: $0 stop PG_TEST_DIR}
  [[ -e $dir ]] || return 0
  # Guard the rm -rf below against a wrong argument.
  [[ $dir == */pg-test.* ]] || die "refusing to remove $dir: not a pg-test directory"
  if [[ -f $dir/data/postmaster.pid ]]; then
    if ! as_owner "$(stat -c %U "$dir/data")" "$(find_bindir)/pg_ctl" stop \
      --pgdata="$dir/data" --mode=immediate --wait >/dev/null; then
      die "pg_ctl stop failed; keeping $dir (see postgres.log)"
    fi
  fi
  rm -rf -- "$dir"
}

case ${1:-} in
  start) start ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: $0 start | stop PG_TEST_DIR" >&2
    exit 2
    ;;
esac
