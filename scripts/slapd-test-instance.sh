#!/usr/bin/env bash
# Throwaway OpenLDAP server (slapd) for the connector tests.
#
#   eval "$(scripts/slapd-test-instance.sh start)"   # exports SLAPD_DIR SLAPD_PID LDAP_URL LDAP_PORT
#                                                    #   LDAP_BASE LDAP_PEOPLE LDAP_ROOTDN LDAP_ROOTPW
#   scripts/slapd-test-instance.sh stop "$SLAPD_DIR"
#   scripts/slapd-test-instance.sh halt "$SLAPD_DIR"     # stop the server, keep its data and port
#   scripts/slapd-test-instance.sh resume "$SLAPD_DIR"   # start it again; prints SLAPD_PID=…
#   scripts/slapd-test-instance.sh selftest          # start, check bind/lock/unlock, stop
#
# Needs the Debian packages slapd and ldap-utils. Nothing global is used or changed: the config
# (a generated slapd.conf, mdb database) lives in one temp directory and the server listens only
# on ldap://127.0.0.1:<free port>, so a system slapd on :389 does not matter.
#
# The ppolicy overlay has a default policy, so `pwdAccountLockedTime: 000001010000Z` locks an
# entry (without an applicable policy slapd silently ignores the attribute). The argon2 module is
# loaded so userPassword values like {ARGON2}$argon2id$v=19$... verify on bind.
set -euo pipefail

readonly SLAPD=${SLAPD_BIN:-/usr/sbin/slapd}
readonly MODULE_DIR=/usr/lib/ldap
readonly SCHEMA_DIR=/etc/ldap/schema
readonly BASE=dc=example,dc=com
readonly ROOTDN=cn=admin,$BASE
readonly ROOTPW=roster-ldap-admin
readonly PORT_ATTEMPTS=5

log() { echo "slapd-test-instance: $*" >&2; }
die() { log "$*"; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_config() { # DIR
  local dir=$1 rootpw_hash
  rootpw_hash=$(slappasswd -h '{SSHA}' -s "$ROOTPW")
  mkdir "$dir/db"
  cat >"$dir/slapd.conf" <<EOF
include     $SCHEMA_DIR/core.schema
include     $SCHEMA_DIR/cosine.schema
include     $SCHEMA_DIR/inetorgperson.schema
include     $SCHEMA_DIR/nis.schema

modulepath  $MODULE_DIR
moduleload  back_mdb.la
moduleload  ppolicy.la
moduleload  argon2.la

# Password hashes are only usable for binding; everything else is world-readable (test data).
access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by * read

database    mdb
maxsize     104857600
suffix      "$BASE"
rootdn      "$ROOTDN"
rootpw      $rootpw_hash
directory   $dir/db
index       objectClass eq
index       uid,cn eq

overlay          ppolicy
ppolicy_default  "cn=default,ou=policies,$BASE"
ppolicy_hash_cleartext
ppolicy_use_lockout
EOF
  # -u: the empty database directory is fine, only the configuration is checked.
  "$SLAPD" -T test -u -f "$dir/slapd.conf" >"$dir/configtest.log" 2>&1 ||
    { cat "$dir/configtest.log" >&2; die "slapd rejected the generated config"; }
}

# pwdMaxFailure 0: failed binds never lock an entry, so tests can probe wrong passwords freely;
# only an explicit pwdAccountLockedTime locks.
base_entries() {
  cat <<EOF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Roster tests

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=suspended,$BASE
objectClass: organizationalUnit
ou: suspended

dn: ou=policies,$BASE
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$BASE
objectClass: applicationProcess
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0
pwdAllowUserChange: TRUE
EOF
}

wait_ready() { # PID URL; up to 10 s
  local pid=$1 url=$2 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    ldapsearch -x -LLL -H "$url" -s base -b "" namingContexts >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# Start slapd in the background on a free port, retrying when the port was taken meanwhile.
# Prints "PID PORT".
launch() { # DIR
  local dir=$1 port pid attempt
  for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
    port=$(free_port)
    # -d 0 keeps slapd in the foreground (no fork), so $! is the server's PID.
    "$SLAPD" -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/" -d 0 >>"$dir/slapd.log" 2>&1 &
    pid=$!
    if wait_ready "$pid" "ldap://127.0.0.1:$port"; then
      echo "$pid $port"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    log "start attempt $attempt on port $port failed"
  done
  return 1
}

start() {
  local pid port
  instance_dir=$(mktemp -d "${TMPDIR:-/tmp}/slapd-test.XXXXXX")
  # Until the assignments are printed nobody else knows the directory, so clean up any failure.
  trap 'stop "$instance_dir"' EXIT
  write_config "$instance_dir"
  if ! read -r pid port < <(launch "$instance_dir"); then
    log "slapd did not start; end of slapd.log:"
    tail -n 20 "$instance_dir/slapd.log" >&2 || true
    exit 1
  fi
  echo "$pid" >"$instance_dir/pid"
  echo "$port" >"$instance_dir/port"
  base_entries | ldapadd -x -H "ldap://127.0.0.1:$port" -D "$ROOTDN" -w "$ROOTPW" >/dev/null
  trap - EXIT
  printf 'SLAPD_DIR=%q\n' "$instance_dir"
  printf 'SLAPD_PID=%q\n' "$pid"
  printf 'LDAP_URL=%q\n' "ldap://127.0.0.1:$port"
  printf 'LDAP_PORT=%q\n' "$port"
  printf 'LDAP_BASE=%q\n' "$BASE"
  printf 'LDAP_PEOPLE=%q\n' "ou=people,$BASE"
  printf 'LDAP_ROOTDN=%q\n' "$ROOTDN"
  printf 'LDAP_ROOTPW=%q\n' "$ROOTPW"
  echo 'export SLAPD_DIR SLAPD_PID LDAP_URL LDAP_PORT LDAP_BASE LDAP_PEOPLE LDAP_ROOTDN LDAP_ROOTPW'
}

stop() { # DIR
  local dir=${1:?usage: $0 stop SLAPD_DIR} pid i
  [[ -e $dir ]] || return 0
  # Guard the rm -rf below against a wrong argument.
  [[ $dir == */slapd-test.* ]] || die "refusing to remove $dir: not a slapd-test directory"
  if [[ -f $dir/pid ]] && pid=$(<"$dir/pid") && kill -TERM "$pid" 2>/dev/null; then
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "slapd $pid ignored TERM for 5 s, killing it"
      kill -KILL "$pid"
    fi
  fi
  rm -rf -- "$dir"
}

# Stop the server but keep its directory and data (fault tests); `resume` starts it again.
halt() { # DIR
  local dir=${1:?usage: $0 halt SLAPD_DIR} pid i
  [[ $dir == */slapd-test.* && -f $dir/pid ]] || die "$dir is not a slapd-test directory"
  pid=$(<"$dir/pid")
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Start a halted instance again, on the same port with the same data. Prints SLAPD_PID=….
resume() { # DIR
  local dir=${1:?usage: $0 resume SLAPD_DIR} port pid
  [[ $dir == */slapd-test.* && -f $dir/port ]] || die "$dir is not a slapd-test directory"
  port=$(<"$dir/port")
  "$SLAPD" -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/" -d 0 >>"$dir/slapd.log" 2>&1 &
  pid=$!
  wait_ready "$pid" "ldap://127.0.0.1:$port" || die "slapd did not start again on port $port"
  echo "$pid" >"$dir/pid"
  printf 'SLAPD_PID=%q\n' "$pid"
}

# --- selftest ----------------------------------------------------------------------------------

# Bind as DN with PASSWORD; prints ldapwhoami's output (also on failure) and returns its status.
bind_as() { # DN PASSWORD
  ldapwhoami -x -H "$LDAP_URL" -D "$1" -w "$2" 2>&1
}

expect_bind_ok() { # DN PASSWORD WHAT
  local out
  out=$(bind_as "$1" "$2") || die "FAIL $3: bind refused: $out"
  log "ok   $3"
}

expect_bind_49() { # DN PASSWORD WHAT
  local out
  if out=$(bind_as "$1" "$2"); then die "FAIL $3: bind succeeded: $out"; fi
  [[ $out == *"Invalid credentials (49)"* ]] || die "FAIL $3: expected result 49, got: $out"
  log "ok   $3"
}

as_root() { # ldapmodify/ldapadd as the rootdn, LDIF on stdin
  "$1" -x -H "$LDAP_URL" -D "$LDAP_ROOTDN" -w "$LDAP_ROOTPW" >/dev/null
}

argon2_hash() { # PASSWORD
  slappasswd -o module-path="$MODULE_DIR" -o module-load=argon2.la -h '{ARGON2}' -s "$1"
}

selftest() {
  local env hash user password=secret
  env=$(start)
  eval "$env"
  trap 'stop "$SLAPD_DIR"' EXIT
  log "slapd $SLAPD_PID (uid $(ps -o user= -p "$SLAPD_PID")) on $LDAP_URL, dir $SLAPD_DIR"
  user=uid=selftest,$LDAP_PEOPLE
  hash=$(argon2_hash "$password")
  [[ $hash == "{ARGON2}\$argon2"* ]] || die "FAIL unexpected argon2 hash: $hash"

  as_root ldapadd <<EOF
dn: $user
objectClass: inetOrgPerson
uid: selftest
cn: Self Test
sn: Test
userPassword: $hash
EOF
  expect_bind_ok "$user" "$password" "bind with {ARGON2} hash"
  expect_bind_49 "$user" wrong "wrong password refused"

  as_root ldapmodify <<EOF
dn: $user
changetype: modify
replace: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
EOF
  expect_bind_49 "$user" "$password" "locked entry refused"

  as_root ldapmodify <<EOF
dn: $user
changetype: modify
delete: pwdAccountLockedTime
EOF
  expect_bind_ok "$user" "$password" "unlocked entry binds again"
  log "selftest passed"
}

case ${1:-} in
  start) start ;;
  stop) stop "${2:-}" ;;
  halt) halt "${2:-}" ;;
  resume) resume "${2:-}" ;;
  selftest) selftest ;;
  *)
    echo "usage: $0 start | stop SLAPD_DIR | halt SLAPD_DIR | resume SLAPD_DIR | selftest" >&2
    exit 2
    ;;
esac
