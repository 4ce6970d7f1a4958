#!/usr/bin/env bash
# Provisioning benchmark: revocation lag (response to a suspension through the admin API of a
# running `roster serve` -> LDAP bind refused, p50/p99) and jobs/s for bulk activations, beside ldapadd's own rate for the same number of entries
# (the physical limit of the directory).
#
#   scripts/bench-provisioning.sh [SUSPENSIONS=1000] [ACTIVATIONS=10000]
#
# Starts its own slapd instances (scripts/slapd-test-instance.sh) and an SQLite database in a
# temporary directory (set BENCH_DATABASE_URL=postgres://… to use PostgreSQL instead), builds
# the benchmark in release mode (BENCH_PROFILE=debug for a quick, slower build), and prints the
# figures. Exit codes: 0 done, 1 failure, 2 usage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

suspensions=${1:-1000}
activations=${2:-10000}
[[ $suspensions =~ ^[0-9]+$ && $activations =~ ^[0-9]+$ ]] || {
  echo "usage: $0 [SUSPENSIONS] [ACTIVATIONS]" >&2
  exit 2
}

work=$(mktemp -d)
dirs=()
cleanup() {
  local dir
  for dir in "${dirs[@]}"; do scripts/slapd-test-instance.sh stop "$dir" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

profile=${BENCH_PROFILE:-release}
case $profile in
  release) cargo build --release --quiet --bin roster --example bench_provisioning ;;
  debug) cargo build --quiet --bin roster --example bench_provisioning ;;
  *) echo "BENCH_PROFILE must be release or debug" >&2; exit 2 ;;
esac

# Roster through the dispatcher.
eval "$(scripts/slapd-test-instance.sh start)"
dirs+=("$SLAPD_DIR")
export BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-$work/bench.db}
export ROSTER_BIN=${CARGO_TARGET_DIR:-target}/$profile/roster BENCH_WORK_DIR=$work
"${CARGO_TARGET_DIR:-target}/$profile/examples/bench_provisioning" "$suspensions" "$activations"

# ldapadd alone, into a fresh instance with the same configuration.
eval "$(scripts/slapd-test-instance.sh start)"
dirs+=("$SLAPD_DIR")
hash=$(slappasswd -o module-path=/usr/lib/ldap -o module-load=argon2.la -h '{ARGON2}' -s Bench-Pass-1)
for ((i = 0; i < activations; i++)); do
  printf 'dn: uid=bulk%05d,%s\nobjectClass: inetOrgPerson\nuid: bulk%05d\ncn: bulk%05d\nsn: bulk%05d\nmail: bulk%05d@example.com\nuserPassword: %s\n\n' \
    "$i" "$LDAP_PEOPLE" "$i" "$i" "$i" "$i" "$hash"
done >"$work/bulk.ldif"
start=$(date +%s.%N)
ldapadd -x -H "$LDAP_URL" -D "$LDAP_ROOTDN" -w "$LDAP_ROOTPW" -f "$work/bulk.ldif" >/dev/null
end=$(date +%s.%N)
awk -v n="$activations" -v s="$start" -v e="$end" \
  'BEGIN { printf "ldapadd of the same %d entries: %.2f s: %.0f entries/s\n", n, e - s, n / (e - s) }'
