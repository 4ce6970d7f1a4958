#!/usr/bin/env bash
# SCIM benchmark: Roster's /scim/v2 under a real load generator (wrk), beside a minimal
# actix-web handler that returns a fixed User from memory and the Python reference server
# scim2-server (PyPI), each preloaded with the same users.
#
#   scripts/bench-scim.sh [--postgres] [USERS=100000] [SECONDS_PER_SCENARIO=30]
#
# Scenarios: GET /Users/{id}, filter=userName eq, list pages of 100, POST /Users, PATCH active
# (scripts/bench-scim/scim.lua). Servers, one after another: Roster on SQLite, the minimal
# handler (scripts/bench/bench_scim_minimal.rs), scim2-server (scripts/bench-scim/
# scim2_server_preloaded.py), and with --postgres Roster on a throwaway PostgreSQL
# (scripts/pg-test-instance.sh, started on the servers' CPU), or on BENCH_DATABASE_URL if that
# names an empty postgres:// database. Each server is pinned to one CPU and wrk to another
# (taskset); every server gets the same wrk settings. Roster is preloaded through its SCIM
# service (scripts/bench/bench_scim_load.rs) and scim2-server through its own POST handling.
#
# Prints one table (scenario x server: req/s, p50, p99, errors, CPU of server and of wrk), the
# targets against the minimal handler and scim2-server with PASS/FAIL, Roster's VmRSS after the
# run, and with --postgres the PostgreSQL/SQLite ratio per scenario.
#
# Installs: wrk (apt-get, only when missing and running as root) and scim2-server into a
# virtualenv under the target directory. Settings: BENCH_CONNECTIONS (32), BENCH_THREADS (1),
# BENCH_PROFILE (release; debug builds faster for a smoke test), BENCH_SCIM2_SERVER_VERSION.
# Exit codes: 0 the benchmark ran (the last line says whether the targets were met),
# 1 failure, 2 usage or a missing package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  echo "usage: $0 [--postgres] [USERS=100000] [SECONDS_PER_SCENARIO=30]" >&2
  exit 2
}
step() { echo "==> $*" >&2; }
die() {
  echo "bench-scim: $*" >&2
  exit 1
}

postgres=no
[[ -n ${BENCH_DATABASE_URL:-} ]] && postgres=yes
args=()
for arg in "$@"; do
  case $arg in
    --postgres) postgres=yes ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) args+=("$arg") ;;
  esac
done
((${#args[@]} <= 2)) || usage
users=${args[0]:-100000}
seconds=${args[1]:-30}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-1}
profile=${BENCH_PROFILE:-release}
scim2_version=${BENCH_SCIM2_SERVER_VERSION:-0.8.3}
for number in "$users" "$seconds" "$connections" "$threads"; do
  [[ $number =~ ^[1-9][0-9]*$ ]] || usage
done
((users >= 100)) || { echo "USERS must be at least 100 (one list page)" >&2; exit 2; }
((threads <= connections)) || { echo "BENCH_THREADS must not exceed BENCH_CONNECTIONS" >&2; exit 2; }
[[ $profile == release || $profile == debug ]] || { echo "BENCH_PROFILE must be release or debug" >&2; exit 2; }
if [[ -n ${BENCH_DATABASE_URL:-} && $BENCH_DATABASE_URL != postgres://* && $BENCH_DATABASE_URL != postgresql://* ]]; then
  echo "BENCH_DATABASE_URL must be a postgres:// URL" >&2
  exit 2
fi
warmup=$((seconds / 10 > 0 ? seconds / 10 : 1))

if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
  PATH=$HOME/.cargo/bin:$PATH
fi

# --- what the benchmark needs -------------------------------------------------------------
need() { # COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null || {
    echo "bench-scim: $1 is missing; install the Debian package $2" >&2
    exit 2
  }
}
need taskset util-linux
need curl curl
need python3 python3
need cargo "cargo (or rustup)"
if ! command -v wrk >/dev/null; then
  if ((EUID == 0)); then
    step "installing the load generator: apt-get install -y wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } ||
      { echo "bench-scim: apt-get could not install wrk" >&2; exit 2; }
  else
    echo "bench-scim: wrk is missing; install the Debian package wrk (apt-get install wrk)" >&2
    exit 2
  fi
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || {
  echo "bench-scim: python3 cannot make virtualenvs; install the Debian package python3-venv" >&2
  exit 2
}

# Two CPUs of those this process may use: the first for the servers, the second for wrk.
read -r -a cpus <<<"$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
server_cpu=${cpus[0]}
degraded=no
if ((${#cpus[@]} >= 2)); then
  load_cpu=${cpus[1]}
else
  load_cpu=$server_cpu
  degraded=yes
  echo "bench-scim: WARNING: only CPU $server_cpu is available; the servers and wrk will share it" >&2
fi

target=${CARGO_TARGET_DIR:-$PWD/target}
venv=$target/scim2-server-venv
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('scim2-server') != '$scim2_version')" 2>/dev/null; then
  step "installing scim2-server $scim2_version from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$scim2_version"
fi

step "building roster and the benchmark helpers ($profile)"
build=(cargo build --quiet --bin roster --example bench_scim_load --example bench_scim_minimal)
[[ $profile == release ]] && build+=(--release)
"${build[@]}"
bin=$target/$profile
roster=$bin/roster

# --- processes and cleanup ----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-scim.XXXXXX")
pids=()
PG_TEST_DIR=
# shellcheck disable=SC2317  # only called from the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $PG_TEST_DIR ]]; then
    scripts/pg-test-instance.sh stop "$PG_TEST_DIR" || true
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a server pinned to the servers' CPU; sets server_pid.
start_server() { # LOG COMMAND...
  local log=$1
  shift
  taskset -c "$server_cpu" "$@" >"$log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
}

stop_server() { # PID
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local pid kept=()
  for pid in "${pids[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# Waits until URL answers 2xx, or the server exits, or LIMIT seconds pass.
wait_ready() { # URL PID LOG LIMIT
  local deadline=$((SECONDS + $4))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then
      tail -n 30 "$3" >&2
      die "the server exited before it answered $1"
    fi
    sleep 0.2
  done
  tail -n 30 "$3" >&2
  die "no answer from $1 within $4 s"
}

# CPU time (user + system, in clock ticks) so far of a server: the process, and for Roster on
# the throwaway PostgreSQL also the postmaster and its children, which share the server's CPU.
pg_postmaster=
server_ticks() { # PID
  local files=("/proc/$1/stat")
  [[ -n $pg_postmaster ]] && files+=(/proc/[0-9]*/stat)
  # A line is "pid (command) state ppid ...": without the command, ppid is field 2 and utime
  # and stime are fields 12 and 13. Processes may end meanwhile, so cat may fail.
  { cat -- "${files[@]}" 2>/dev/null || true; } | awk -v server="$1" -v postmaster="$pg_postmaster" '
    {
      pid = $1
      sub(/^.*\) /, "")
      if (pid in seen) next
      seen[pid] = 1
      if (pid == server || (postmaster != "" && (pid == postmaster || $2 == postmaster)))
        total += $12 + $13
    }
    END { print total + 0 }'
}
clock_ticks=$(getconf CLK_TCK)

results=$work/results.tsv
settings=$work/settings.tsv
: >"$results"
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 { print $1 " " $2 }' || true)
{
  printf 'users\t%s\nseconds\t%s\nconnections\t%s\nthreads\t%s\n' "$users" "$seconds" "$connections" "$threads"
  printf 'wrk\t%s\nserver_cpu\t%s\nload_cpu\t%s\ndegraded\t%s\n' "${wrk_version:-wrk}" "$server_cpu" "$load_cpu" "$degraded"
} >"$settings"

# One wrk run; prints its RESULT line's values plus the CPU shares of server and wrk.
wrk_run() { # PID URL SCENARIO BASE USERS_TSV TOKEN DURATION
  local pid=$1 url=$2 scenario=$3 base=$4 ids=$5 token=$6 duration=$7 out err timing
  out=$work/wrk.out err=$work/wrk.err timing=$work/wrk.time
  local before after start end
  before=$(server_ticks "$pid")
  start=$(date +%s.%N)
  local TIMEFORMAT='%R %U %S'
  if ! { time taskset -c "$load_cpu" wrk --threads "$threads" --connections "$connections" \
    --duration "${duration}s" --timeout "${seconds}s" --script scripts/bench-scim/scim.lua \
    "$url" -- "$scenario" "$base" "$ids" "$token" "$RANDOM$RANDOM" >"$out" 2>"$err"; } 2>"$timing"; then
    cat "$out" "$err" >&2
    die "wrk failed on $scenario"
  fi
  end=$(date +%s.%N)
  after=$(server_ticks "$pid")
  grep -q '^RESULT ' "$out" || { cat "$out" "$err" >&2; die "wrk printed no result for $scenario"; }
  awk -v before="$before" -v after="$after" -v hz="$clock_ticks" -v start="$start" -v end="$end" \
    -v timing="$(<"$timing")" '
    /^RESULT / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
      split(timing, t, " ")
      server = 100 * (after - before) / hz / (end - start)
      load = 100 * (t[2] + t[3]) / t[1]
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\n", r["requests"], r["seconds"],
        r["rps"], r["p50_us"], r["p99_us"], r["max_us"], r["status_errors"],
        r["socket_errors"], r["timeouts"], server, load
    }' "$out"
}

# Warms the server up, then runs every scenario and appends the results.
measure() { # NAME PID ORIGIN BASE USERS_TSV TOKEN
  local name=$1 pid=$2 url=$3 base=$4 ids=$5 token=$6 scenario row
  step "$name: warm-up ($warmup s of GET by id)"
  wrk_run "$pid" "$url" get "$base" "$ids" "$token" "$warmup" >/dev/null
  for scenario in get filter list post patch; do
    step "$name: $scenario ($seconds s, $connections connections)"
    row=$(wrk_run "$pid" "$url" "$scenario" "$base" "$ids" "$token" "$seconds")
    printf '%s\t%s\t%s\n' "$name" "$scenario" "$row" >>"$results"
    awk -F'\t' '{ printf "    %.1f req/s, p99 %.2f ms, %d errors\n", $3, $5 / 1000, $7 + $8 + $9 }' \
      <<<"$row" >&2
  done
}

# Checks one authenticated GET before measuring, so a setup mistake fails loudly.
check_get() { # URL TOKEN OUT
  local status
  status=$(curl -sS -o "$3" -w '%{http_code}' -H "Authorization: Bearer $2" "$1") || die "GET $1 failed"
  [[ $status == 200 ]] || { cat "$3" >&2; die "GET $1 answered $status"; }
}

# Loads Roster's database, serves it and measures it; NAME is roster-sqlite or roster-postgres.
bench_roster() { # NAME DATABASE_URL
  local name=$1 url=$2 dir=$work/$1 port token first
  mkdir -p "$dir"
  token=$("$roster" --data-dir "$dir/data" --database-url "$url" token issue --integration bench --kind generic 2>"$dir/token.log") ||
    { cat "$dir/token.log" >&2; die "roster token issue failed"; }
  step "$name: loading $users users"
  "$bin/examples/bench_scim_load" "$url" "$users" bench "$dir"
  # Write the load out now: its writeback would otherwise land in the measured scenarios.
  sync
  port=$(free_port)
  start_server "$dir/server.log" "$roster" --data-dir "$dir/data" --database-url "$url" \
    serve --listen "127.0.0.1:$port"
  local pid=$server_pid
  wait_ready "http://127.0.0.1:$port/readyz" "$pid" "$dir/server.log" 60
  first=$(head -n 1 "$dir/roster-users.tsv" | cut -f 1)
  check_get "http://127.0.0.1:$port/scim/v2/Users/$first" "$token" "$dir/user.json"
  [[ -e $work/user.json ]] || cp "$dir/user.json" "$work/user.json"
  measure "$name" "$pid" "http://127.0.0.1:$port" /scim/v2 "$dir/roster-users.tsv" "$token"
  awk -v server="$name" '/^VmRSS:/ { print "rss_kib:" server "\t" $2 } /^VmHWM:/ { print "hwm_kib:" server "\t" $2 }' \
    "/proc/$pid/status" >>"$settings"
  grep -E '^[^ ]+ +(ERROR|WARN) ' "$dir/server.log" | sed -E 's/^[^ ]+ +//' | sort | uniq -c |
    sort -rn | head -n 5 >"$dir/problems" || true
  if [[ -s $dir/problems ]]; then
    echo "$name logged warnings or errors (count, line):" >&2
    cat "$dir/problems" >&2
  fi
  stop_server "$pid"
}

# --- the runs -----------------------------------------------------------------------------
bench_roster roster-sqlite "$work/roster-sqlite.db"

step "minimal handler"
port=$(free_port)
start_server "$work/minimal.log" "$bin/examples/bench_scim_minimal" "127.0.0.1:$port" "$work/user.json" "$users"
wait_ready "http://127.0.0.1:$port/scim/v2/Users/x" "$server_pid" "$work/minimal.log" 30
measure minimal "$server_pid" "http://127.0.0.1:$port" /scim/v2 "$work/roster-sqlite/roster-users.tsv" -
stop_server "$server_pid"

step "scim2-server $scim2_version: preloading $users users"
mkdir -p "$work/scim2"
port=$(free_port)
scim2_token=bench-$RANDOM$RANDOM
start_server "$work/scim2/server.log" "$venv/bin/python" scripts/bench-scim/scim2_server_preloaded.py \
  "$work/roster-sqlite/users.jsonl" "$work/scim2/users.tsv" -- \
  --hostname 127.0.0.1 --port "$port" --bearer-token "$scim2_token"
wait_ready "http://127.0.0.1:$port/v2/ServiceProviderConfig" "$server_pid" "$work/scim2/server.log" 3600
grep -m 1 'users created' "$work/scim2/server.log" >&2 || true
check_get "http://127.0.0.1:$port/v2/Users/$(head -n 1 "$work/scim2/users.tsv" | cut -f 1)" "$scim2_token" "$work/scim2/user.json"
measure scim2-server "$server_pid" "http://127.0.0.1:$port" /v2 "$work/scim2/users.tsv" "$scim2_token"
stop_server "$server_pid"

if [[ $postgres == yes ]]; then
  if [[ -n ${BENCH_DATABASE_URL:-} ]]; then
    step "PostgreSQL at BENCH_DATABASE_URL (not pinned: it is not ours)"
    pg_url=$BENCH_DATABASE_URL
  else
    step "PostgreSQL: a throwaway cluster on CPU $server_cpu, beside Roster"
    eval "$(taskset -c "$server_cpu" scripts/pg-test-instance.sh start)"
    pg_url=$ROSTER_TEST_DATABASE_URL
    pg_postmaster=$(head -n 1 "$PG_TEST_DIR/data/postmaster.pid")
  fi
  bench_roster roster-postgres "$pg_url"
fi

python3 scripts/bench-scim/report.py "$results" "$settings"
