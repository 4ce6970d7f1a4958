#!/usr/bin/env bash
# Runs the independent Python SCIM suite scim2-tester (PyPI) against a live Roster server on
# SQLite, and fails on any failed check (status ERROR or CRITICAL).
#
#   conformance-tests/scripts/run-scim2-tester.sh
#
# Needs python3 with venv (Debian: python3-venv). The virtualenv is kept in
# $SCIM2_TESTER_VENV (default: target dir/scim2-tester-venv) so later runs skip the install.
# Exit codes: 0 all checks passed, 1 a check failed or the run broke, 2 usage.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
(($# == 0)) || { echo "usage: $0" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-$PWD/target}
venv=${SCIM2_TESTER_VENV:-$target/scim2-tester-venv}
step() { echo "==> $*" >&2; }

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import scim2_tester, httpx2' 2>/dev/null; then
  step "installing scim2-tester[httpx2] into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'scim2-tester[httpx2]'
fi

step "building roster"
cargo build --quiet --bin roster
roster=$target/debug/roster

workdir=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

token=$("$roster" --data-dir "$workdir/data" token issue --integration scim2-tester --kind generic 2>/dev/null)
ROSTER_LOG_FORMAT=json "$roster" --data-dir "$workdir/data" serve --listen 127.0.0.1:0 2>"$workdir/server.log" &
server_pid=$!

listen=
for _ in $(seq 1 300); do
  listen=$(grep -o '"listen":"[^"]*"' "$workdir/server.log" | head -n1 | cut -d'"' -f4 || true)
  [[ -n $listen ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$workdir/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $listen ]] || { echo "roster did not start" >&2; cat "$workdir/server.log" >&2; exit 1; }

step "scim2-tester against http://$listen/scim/v2"
"$venv/bin/python" conformance-tests/scripts/scim2_tester_run.py "http://$listen/scim/v2" "$token"
