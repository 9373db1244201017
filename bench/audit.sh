#!/usr/bin/env bash
# bench/audit.sh: time real `imadm audit export` of a 1,000,000-event audit log from a
# real `imadm server --dev`, `imadm audit verify` of the result and `ssh-keygen -Y sign`
# of the same bytes in ONE hyperfine run, then the CLI's peak RSS (/usr/bin/time -v) of
# export and verify. Issue 4 targets: export >= 250,000 events/s, verify >= 500,000
# events/s, RSS < 64 MB. (A benchmark, not a timed test.)
#
# Seeding: the dev server is started once (creating its SQLite file), stopped, and the
# hidden `imadm __seed-audit N --data-dir DIR` appends N events with a correct hash chain
# straight into its `audit_log` (imadm_server::audit::seed, the chain of audit::insert);
# the server is then restarted on the same data dir and the CLI logs in.
#
# Run: bench/audit.sh   Knobs: BENCH_EVENTS (1000000), BENCH_RUNS (3), BENCH_KEEP=1.
# Needs: cargo, hyperfine, ssh-keygen, oathtool, /usr/bin/time
# (Debian: hyperfine openssh-client oathtool time).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_EVENTS:-1000000}
RUNS=${BENCH_RUNS:-3}
cargo build --release -q
BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/imadm")
T=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

start_server() {
  : >"$T/ready"
  "$BIN" server --dev -o json --listen 127.0.0.1:0 --data-dir "$T/data" --config-dir "$T/cfg" \
    >"$T/ready" 2>"$T/server.log" </dev/null &
  SERVER_PID=$!
  for _ in $(seq 600); do [ -s "$T/ready" ] && break; sleep 0.1; done
  [ -s "$T/ready" ] || { cat "$T/server.log"; exit 1; }
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
field() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$T/ready" "$1"; }

start_server
stop_server
"$BIN" __seed-audit "$N" --data-dir "$T/data" >/dev/null
start_server
IM=("$BIN" --config-dir "$T/cfg" --profile dev)
field password | "${IM[@]}" auth login --username "$(field username)" --password-stdin \
  --otp "$(oathtool --totp -b "$(field totp_secret)")" --insecure-storage
ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519"
# First export pins the server key (outside the timing).
"${IM[@]}" -q audit export --out "$T/report.json"
ls -l "$T/report.json"
IMS="$BIN --config-dir $T/cfg --profile dev -q"
mkdir -p bench/results
OUT=bench/results/audit-$(date -u +%F)
hyperfine --runs "$RUNS" --export-json "$OUT.json" \
  -n "audit export ($N+ events)" "$IMS audit export --out $T/e.json" \
  -n "audit verify ($N+ events)" "$IMS -o json audit verify $T/report.json" \
  -n "ssh-keygen -Y sign" "rm -f $T/report.json.sig; ssh-keygen -q -Y sign -f $T/id_ed25519 -n imadm-audit $T/report.json" \
  | tee "$OUT.md"
rm -f "$T/report.json.sig"
for what in export verify; do
  if [ $what = export ]; then
    /usr/bin/time -v $IMS audit export --out "$T/e.json" >/dev/null 2>"$T/time"
  else
    /usr/bin/time -v $IMS -o json audit verify "$T/report.json" >/dev/null 2>"$T/time"
  fi
  echo "peak RSS ($what): $(grep 'Maximum resident' "$T/time" | awk '{print $NF}') kB" | tee -a "$OUT.md"
done
