#!/usr/bin/env bash
# Times one scheduler step that applies N due suspensions (default 10,000), on SQLite and on a
# throwaway PostgreSQL, with a release build.
#
#   scripts/bench-scheduler.sh            # 10,000 on each backend
#   scripts/bench-scheduler.sh 2000       # another count
#
# Prints one line per backend: "<backend> <N> due suspensions one scheduler step: <seconds> s".
# Loading the users and schedules is not timed. Target: under 10 s per backend on 2 cores.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly COUNT=${1:-10000}

if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
  PATH=$HOME/.cargo/bin:$PATH
fi

echo "==> building the benchmark (release)" >&2
cargo build --quiet --release --example bench_scheduler
bench="${CARGO_TARGET_DIR:-target}/release/examples/bench_scheduler"

workdir=$(mktemp -d)
PG_TEST_DIR=
# shellcheck disable=SC2317  # only called from the EXIT trap
cleanup() {
  if [[ -n $PG_TEST_DIR ]]; then
    scripts/pg-test-instance.sh stop "$PG_TEST_DIR" || true
  fi
  rm -rf -- "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> SQLite" >&2
"$bench" "$workdir/bench.db" "$COUNT"

echo "==> PostgreSQL (throwaway instance)" >&2
eval "$(scripts/pg-test-instance.sh start)"
"$bench" "$ROSTER_TEST_DATABASE_URL" "$COUNT"
