#!/usr/bin/env bash
# Measures acmehub server against its goals, on loopback, and prints the figures:
#   - TXT queries/s with dnsperf (20 clients), with 1, 100,000 and 1,000,000
#     accounts, beside the bare miekg/dns responder (hack/bare) measured in
#     the same run (goal: 1.5 times its rate, the rate limit on), and with the
#     zone signed, asked with DO (goal: 0.9 times the unsigned rate);
#   - start-up time (reading every account), resident memory and Go heap per
#     account at 100,000 and 1,000,000 accounts (goals: at most 150 B of heap
#     an account, start-up within 1 s and 5 s);
#   - POST /update requests/s and latency with 8 clients, durable SQLite writes,
#     alone and while 200 clients (each from its own loopback address) send
#     wrong credentials as fast as they are answered (goal: p99 under 50 ms);
#   - the DNS under floods from loopback sources in distinct /24 prefixes
#     (hack/dnsflood), the rate limit on with its defaults and loopback not
#     exempt, while five CAs ask an account's TXT with DO 50 times a second
#     each: ANY with DO from one source, and random names below the zone
#     from 50 sources, each at 400,000 questions/s and as fast as the
#     generator can send from the one core it is held to (goals: 99.9 % of
#     the CAs' questions answered, for ANY as fast as it can with p99 within
#     10 ms, for random names at 400,000/s; at most one byte back to the
#     flood for each sent); 1,000 idle TCP connections from one prefix and
#     a client from another;
#   - the managed-challenge hub: httpreq present+cleanup pairs/s with 16 clients
#     over HTTPS keep-alive on the self provider (goal: 5,000 pairs/s on
#     SQLite), the server's CPU time a pair, and Certify's requestbegin ->
#     succeeded latency under that load; on SQLite, and on PostgreSQL when
#     $ACMEHUB_TEST_POSTGRES names a server (a role that may create databases).
# Needs dnsperf (Debian package dnsperf), openssl, and psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

# PARTS picks what to measure: dns, flood, update, hub.
PARTS=${PARTS:-dns flood update hub}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
ACCOUNTS=${ACCOUNTS:-100000 1000000}
DNS=127.0.0.1:15353
API=127.0.0.1:18080
BARE=127.0.0.1:15454

command -v dnsperf >/dev/null || { echo "dnsperf is missing: apt-get install -y dnsperf" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/acmehub" .
go build -o "$work/bare" ./hack/bare
go build -o "$work/seed" ./hack/seed
go build -o "$work/loadgen" ./hack/loadgen
go build -o "$work/hubload" ./hack/hubload
go build -o "$work/dnsflood" ./hack/dnsflood

# The rate limit stays on, loopback included, with limits dnsperf's one
# source never reaches: its cost is in every figure.
printf '[general]\ndomain = "auth.example.org"\n[acmehub]\nrate_limit_exempt = []\nrate_limit_responses = 100000000\nrate_limit_errors = 100000000\n' >"$work/limits.cfg"

start_server() { # db [server flags...]
  "$work/acmehub" server --db-connection "$1" --dns-listen "$DNS" --api-listen "$API" --log-level info --log-format json "${@:2}" \
    >"$work/server.log" 2>&1 &
  server=$!; pids+=("$server")
  for _ in $(seq 600); do
    curl -sf "http://$API/health" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  cat "$work/server.log" >&2; exit 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

HUB=127.0.0.1:18443
hub_bench() { # label engine connection
  local dir="$work/hub-$2" principal
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=hub \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/hub.key" -out "$dir/hub.crt" 2>/dev/null
  "$work/acmehub" admin keygen --id k1 >"$dir/hub.keys"
  cat >"$dir/config.cfg" <<EOF
[general]
domain = "auth.example.org"
listen = "$DNS"
[database]
engine = "$2"
connection = "$3"
[api]
ip = "127.0.0.1"
port = "${API#*:}"
tls = "none"
[logconfig]
loglevel = "warning"
logformat = "json"
[hub]
enabled = true
listen = "$HUB"
keys_file = "hub.keys"
tls = "cert"
tls_cert_fullchain = "hub.crt"
tls_cert_privkey = "hub.key"
requests_per_minute = 0
EOF
  admin() { (cd "$dir" && "$work/acmehub" admin -c config.cfg "$@"); }
  admin configs put --id self --zone example.com --rule .example.com >/dev/null
  principal=$(admin principals create --title load --role managed-challenge-consumer -o json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
  admin tokens create --principal "$principal" --scope managed-challenge-consumer -o json >"$dir/token.json"
  (cd "$dir" && exec "$work/acmehub" server -c config.cfg --log-level info) >"$work/hub-server.log" 2>&1 &
  server=$!; pids+=("$server")
  for _ in $(seq 600); do
    grep -q '"acmehub server ready"' "$work/hub-server.log" && break
    sleep 0.05
  done
  "$work/hubload" -hub "https://$HUB" -ca "$dir/hub.crt" -token "$dir/token.json" -clients 16 \
    -duration "${DURATION}s" -pid "$server" -label "hub, $1"
  stop "$server"
}

qps() { # addr queryfile [dnsperf flags...]
  dnsperf -s "${1%:*}" -p "${1#*:}" -d "$2" -c 20 -l "$DURATION" "${@:3}" 2>&1 | awk '/Queries per second/ {printf "%d", $4}'
}

# The signed zone's configuration: one CSK (algorithm 13).
signed_config() {
  [ -f "$work/signed.cfg" ] && return 0
  local key
  key=$(cd "$work" && "$work/acmehub" dnssec keygen auth.example.org)
  printf '[general]\ndomain = "auth.example.org"\nnsname = "auth.example.org"\n[dnssec]\nkeys = ["%s"]\n' "$work/$key" >"$work/signed.cfg"
  sed -n '/^\[acmehub\]/,$p' "$work/limits.cfg" >>"$work/signed.cfg"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

dns_bench() { # accounts
  local n=$1 db="$work/dns-$1.db" q="$work/queries-$1.txt"
  "$work/seed" -db "$db" -accounts "$n" -queries "$q" -sample 10000
  start_server "$db" -c "$work/limits.cfg"
  "$work/bare" -listen "$BARE" -names "$q" & bare=$!; pids+=("$bare")
  sleep 0.3
  local ours=() theirs=()
  for _ in $(seq "$ROUNDS"); do
    ours+=("$(qps "$DNS" "$q")")
    theirs+=("$(qps "$BARE" "$q")")
  done
  local rss heap load
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
  heap=$(curl -s "http://$API/metrics" | awk '/^go_gc_heap_live_bytes/ {printf "%d", $2}')
  load=$(sed -n 's/.*"msg":"accounts loaded".*"seconds":\([0-9.]*\).*/\1/p' "$work/server.log")
  stop "$server"; stop "$bare"
  local m b
  m=$(median "${ours[@]}"); b=$(median "${theirs[@]}")
  printf 'TXT, %7d accounts: acmehub %6d q/s (runs: %s), bare responder %6d q/s (runs: %s), ratio %s\n' \
    "$n" "$m" "${ours[*]}" "$b" "${theirs[*]}" "$(awk -v a="$m" -v b="$b" 'BEGIN {printf "%.2f", a/b}')"
  if [ "$n" -gt 1 ]; then
    printf 'scale, %7d accounts: start-up %.2f s, resident %d MiB, live Go heap %d MiB (%d B an account)\n' \
      "$n" "$load" "$((rss / 1024))" "$((heap / 1048576))" "$((heap / n))"
  fi

  # The same zone signed, asked with DO, beside the same server unsigned.
  signed_config
  start_server "$db" -c "$work/signed.cfg"
  load=$(sed -n 's/.*"msg":"accounts loaded".*"seconds":\([0-9.]*\).*/\1/p' "$work/server.log")
  local signed=()
  for _ in $(seq "$ROUNDS"); do signed+=("$(qps "$DNS" "$q" -D)"); done
  stop "$server"
  local s
  s=$(median "${signed[@]}")
  printf 'TXT, %7d accounts, signed, DO: acmehub %6d q/s (runs: %s), %s of unsigned; start-up %.2f s\n' \
    "$n" "$s" "${signed[*]}" "$(awk -v a="$s" -v b="$m" 'BEGIN {printf "%.2f", a/b}')" "$load"
}

echo "== acmehub benchmarks ($(nproc) cores, dnsperf ${DURATION}s x ${ROUNDS} rounds, 20 clients)"
part() { [[ " $PARTS " == *" $1 "* ]]; }
if part dns; then
  dns_bench 1
  for n in $ACCOUNTS; do dns_bench "$n"; done
fi

if part flood; then
  # The signed zone with the default limits, loopback not exempt.
  signed_config
  sed '/^rate_limit_\(responses\|errors\)/d' "$work/signed.cfg" >"$work/flood.cfg"
  start_server "$work/flood.db" -c "$work/flood.cfg"
  reg=$(curl -sf -X POST "http://$API/register")
  field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$reg"; }
  curl -sf -X POST -H "X-Api-User: $(field username)" -H "X-Api-Key: $(field password)" \
    -d "{\"subdomain\":\"$(field subdomain)\",\"txt\":\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"}" "http://$API/update" >/dev/null
  for rate in 400000 0; do
    "$work/dnsflood" -udp "$DNS" -tcp "$DNS" -name "$(field fulldomain)" -duration "${DURATION}s" -ca-rate 50 -flood-rate "$rate"
    sleep 16 # the flood's sources forgiven (rate_limit_window)
  done
  stop "$server"
fi

if part update; then
  start_server "$work/update.db"
  "$work/loadgen" -api "http://$API" -clients 8 -duration "${DURATION}s"
  "$work/loadgen" -api "http://$API" -clients 8 -duration "${DURATION}s" -attackers 200
  stop "$server"
fi

if part hub; then
  hub_bench SQLite sqlite "$work/hub.db"
  if [ -n "${ACMEHUB_TEST_POSTGRES:-}" ]; then
    # A database of its own, empty: the previous run's is dropped.
    psql -q "$ACMEHUB_TEST_POSTGRES" -c 'DROP DATABASE IF EXISTS acmehub_bench WITH (FORCE)' -c 'CREATE DATABASE acmehub_bench'
    hub_bench PostgreSQL postgres "$(sed -E 's#^([a-z]+://[^/?]*)(/[^?]*)?#\1/acmehub_bench#' <<<"$ACMEHUB_TEST_POSTGRES")"
  else
    echo "hub, PostgreSQL: not measured (set ACMEHUB_TEST_POSTGRES to a postgres:// URL of a role that may create databases)"
  fi
fi
