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
# Run: bench/audit.sh   Knobs: BENCH_EVENTS (1000000), BENCH_RUNS (3); and bench/lib.sh's
# IMADM_BIN, BENCH_KEEP=1. Needs: cargo, hyperfine, ssh-keygen, oathtool, /usr/bin/time, jq
# (Debian: hyperfine openssh-client oathtool time jq; bench/lib.sh installs them as root).
# Results: bench/results/audit-<UTC date>T<HHMMSS>Z.md and .json.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${BENCH_EVENTS:-1000000}
RUNS=${BENCH_RUNS:-3}
OUT=$(bench_result audit)

bench_require hyperfine:hyperfine ssh-keygen:openssh-client oathtool:oathtool /usr/bin/time:time
bench_build
bench_tmp
# Started once to create its database, stopped, seeded, started again on the same data dir.
bench_start_server
bench_stop_server
log "seeding $N audit events"
"$IMADM" __seed-audit "$N" --data-dir "$DATA" >/dev/null
bench_start_server
bench_login
ssh-keygen -q -t ed25519 -N '' -f "$TMP/id_ed25519"
# First export pins the server key (outside the timing).
imadm -q audit export --out "$TMP/report.json"
ls -l "$TMP/report.json"
# hyperfine takes command lines (so the paths must not contain spaces; mktemp's do not).
IMS="$IMADM --config-dir $CONF --profile dev -q"
hyperfine --runs "$RUNS" --export-json "$OUT.json" \
  -n "audit export ($N+ events)" "$IMS audit export --out $TMP/e.json" \
  -n "audit verify ($N+ events)" "$IMS -o json audit verify $TMP/report.json" \
  -n "ssh-keygen -Y sign" "rm -f $TMP/report.json.sig; ssh-keygen -q -Y sign -f $TMP/id_ed25519 -n imadm-audit $TMP/report.json" \
  | tee "$OUT.md"
rm -f "$TMP/report.json.sig"
for what in export verify; do
  if [ $what = export ]; then
    /usr/bin/time -v "$IMADM" --config-dir "$CONF" --profile dev -q audit export --out "$TMP/e.json" >/dev/null 2>"$TMP/time"
  else
    /usr/bin/time -v "$IMADM" --config-dir "$CONF" --profile dev -q -o json audit verify "$TMP/report.json" >/dev/null 2>"$TMP/time"
  fi
  echo "peak RSS ($what): $(grep 'Maximum resident' "$TMP/time" | awk '{print $NF}') kB" | tee -a "$OUT.md"
done
