#!/usr/bin/env bash
# bench/audit.sh: how fast does `imadm audit verify` check a 1,000,000-event report, beside
# `ssh-keygen -Y sign` of the same bytes, and with what peak RSS? (issue 4, "Benchmark";
# a benchmark, not a timed test)
#
# Status: until the audit server branch is merged there is no server to export from, so
# the report is made by the hidden `imadm __synth-audit-report N --out FILE` (the same
# streaming ReportWriter and the api's chain functions that `audit export` uses; the
# checkpoints are signed with a fixed, public test key). TODO after the merge: seed N
# events into the server's audit table and time `imadm audit export` in the same
# hyperfine run (target >= 250,000 events/s).
#
# Measures, in ONE hyperfine run: making the report (stand-in for export), `imadm audit
# verify` of it (target >= 500,000 events/s), `ssh-keygen -Y sign` of the same file; then
# /usr/bin/time -v peak RSS of verify and of the writer (target < 64 MB).
#
# Run: bench/audit.sh   Knobs: BENCH_EVENTS (1000000), BENCH_RUNS (3), BENCH_KEEP=1.
# Needs: cargo, hyperfine, ssh-keygen, /usr/bin/time (Debian: hyperfine openssh-client time).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_EVENTS:-1000000}
RUNS=${BENCH_RUNS:-3}
cargo build --release -q
BIN=${CARGO_TARGET_DIR:-target}/release/imadm
T=$(mktemp -d)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519"
KEY=$("$BIN" --config-dir "$T/cfg" __synth-audit-report "$N" --out "$T/report.json")
ls -l "$T/report.json"
mkdir -p bench/results
OUT=bench/results/audit-$(date -u +%F)
hyperfine --runs "$RUNS" --export-json "$OUT.json" \
  -n "write report ($N events)" "$BIN --config-dir $T/cfg __synth-audit-report $N --out $T/w.json" \
  -n "audit verify ($N events)" "$BIN --config-dir $T/cfg -q -o json audit verify $T/report.json --server-key '$KEY'" \
  -n "ssh-keygen -Y sign" "rm -f $T/report.json.sig; ssh-keygen -q -Y sign -f $T/id_ed25519 -n imadm-audit $T/report.json" \
  | tee "$OUT.md"
rm -f "$T/report.json.sig"
for what in verify write; do
  if [ $what = verify ]; then
    /usr/bin/time -v "$BIN" --config-dir "$T/cfg" -q -o json audit verify "$T/report.json" --server-key "$KEY" >/dev/null 2>"$T/time"
  else
    /usr/bin/time -v "$BIN" --config-dir "$T/cfg" __synth-audit-report "$N" --out "$T/w.json" >/dev/null 2>"$T/time"
  fi
  echo "peak RSS ($what): $(grep 'Maximum resident' "$T/time" | awk '{print $NF}') kB" | tee -a "$OUT.md"
done
