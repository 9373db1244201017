#!/usr/bin/env bash
# bench/user-list.sh: how fast does `imadm user list --all` export 100,000 users, and how
# many authenticated list requests per second does the reference server answer?
#
# What it measures (issue 3, "Benchmark"; a benchmark, not a timed test):
#   1. hyperfine, in ONE run: `imadm user list --all -o jsonl > /dev/null` against the
#      local dev server (HTTPS on 127.0.0.1, keyset pages of /admin/users) beside
#      `sqlite3 -json` dumping the same rows and columns from the same database file.
#      Target: the CLI within 3x of the sqlite3 dump.
#   2. /usr/bin/time -v: the CLI's peak RSS during one full export (target < 32 MB), and
#      the server's peak RSS (VmHWM) at the end of the run.
#   3. wrk, bounded (-t2 -c32 -d10s by default), loopback only, with the `app_id` and
#      `access-token` headers, against GET /admin/users?limit=100 and the Lanying
#      GET /user/list?page_num=1&page_size=20. Target: >= 10,000 requests/s.
#   Before timing, it checks that the CLI's export and the sqlite3 dump hold the same
#   rows (normalised with jq), so the comparison is like for like.
#
# How to run (from anywhere; takes ~2 minutes after the release build):
#   bench/user-list.sh
# Knobs (environment): BENCH_USERS (100000), BENCH_RUNS (10 hyperfine runs per command),
#   WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (10s); and bench/lib.sh's
#   IMADM_BIN, BENCH_KEEP=1, CARGO_TARGET_DIR.
# Results: printed, and written to bench/results/user-list-<UTC date>T<HHMMSS>Z.md (+
#   hyperfine's JSON export beside it).
#
# Prerequisites: cargo; and the Debian packages hyperfine, wrk, sqlite3, oathtool, time
# (/usr/bin/time), curl, jq. Missing ones are installed with `apt-get install -y` when run
# as root, otherwise the script stops and names them (bench/lib.sh).
#
# Seeding: registering 100,000 users through the API would spend ~20 ms of argon2 each
# (over half an hour), so one user is registered through the API and its argon2 PHC hash
# is copied into 100,000 rows inserted with SQL directly into the data dir's SQLite
# database (`im_users`, migration 2 of crates/server/src/store/sqlite.rs) in one
# transaction. The server keeps running meanwhile: the database is in WAL mode, and the
# sqlite3 writer takes the ordinary SQLite locks (with a busy timeout). Sealed (AES-GCM)
# profile columns are left NULL, as for a user registered without a profile.
#
# Everything is bounded and self-stopping: the server listens on 127.0.0.1 only and is
# stopped by an EXIT trap; the temp dir (data dir + config dir) is removed.

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
USERS=${BENCH_USERS:-100000}
RUNS=${BENCH_RUNS:-10}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-32}
WRK_DURATION=${WRK_DURATION:-10s}
OUT=$(bench_result user-list)
REPORT="$OUT.md"

bench_require hyperfine:hyperfine wrk:wrk sqlite3:sqlite3 oathtool:oathtool /usr/bin/time:time curl:curl
bench_build
bench_tmp
bench_start_server
bench_login

# --- seed -----------------------------------------------------------------------------
log "seeding $USERS IM users"
printf '%s' "bench-password-1" | imadm user create bench_seed --password-stdin -o json >/dev/null
t0=$(date +%s.%N)
sqlite3 "$DB" >/dev/null <<SQL
.timeout 30000
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS - 1)
INSERT INTO im_users (username, password_hash, disabled, created_at, updated_at)
SELECT printf('bench_%07d', i),
       (SELECT password_hash FROM im_users WHERE username = 'bench_seed'),
       i % 10 = 0,
       1700000000 + i,
       1700000000 + i
FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
t1=$(date +%s.%N)
COUNT=$(sqlite3 "$DB" 'SELECT COUNT(*) FROM im_users')
printf 'seeded: %s users in the database (%s s)\n' "$COUNT" "$(awk "BEGIN {printf \"%.2f\", $t1 - $t0}")" >&2
[[ $COUNT == "$USERS" ]] || die "expected $USERS users, found $COUNT"

# The same rows and columns as `user list -o jsonl` prints: user_id, username, status,
# created_at (RFC 3339, UTC), by ascending id.
SQL_DUMP="SELECT user_id, username, CASE disabled WHEN 0 THEN 'active' ELSE 'disabled' END AS status, strftime('%Y-%m-%dT%H:%M:%SZ', created_at, 'unixepoch') AS created_at FROM im_users ORDER BY user_id"
CLI_CMD="$IMADM --config-dir $CONF --profile dev user list --all -o jsonl > /dev/null"
SQLITE_CMD="sqlite3 -json $DB \"$SQL_DUMP\" > /dev/null"

log "checking that both commands produce the same rows"
imadm user list --all -o jsonl | jq -S -c . >"$TMP/cli.jsonl"
sqlite3 -json "$DB" "$SQL_DUMP" | jq -S -c '.[]' >"$TMP/sqlite.jsonl"
cmp -s "$TMP/cli.jsonl" "$TMP/sqlite.jsonl" \
    || { diff "$TMP/cli.jsonl" "$TMP/sqlite.jsonl" | head -5 >&2; die "the CLI export and the sqlite3 dump differ"; }
printf 'identical: %s rows\n' "$(wc -l <"$TMP/cli.jsonl")" >&2

# --- hyperfine ------------------------------------------------------------------------
log "hyperfine: CLI export vs sqlite3 -json ($RUNS runs each)"
hyperfine --warmup 1 --runs "$RUNS" --style basic \
    --export-markdown "$TMP/hyperfine.md" --export-json "$OUT.json" \
    -n "imadm user list --all -o jsonl" "$CLI_CMD" \
    -n "sqlite3 -json" "$SQLITE_CMD" >&2
CLI_MEAN=$(jq '.results[0].mean' "$OUT.json")
SQL_MEAN=$(jq '.results[1].mean' "$OUT.json")
RATIO=$(jq -n "$CLI_MEAN / $SQL_MEAN * 100 | round / 100")

# --- peak RSS -------------------------------------------------------------------------
log "peak RSS (/usr/bin/time -v)"
/usr/bin/time -v -o "$TMP/time.txt" "$IMADM" --config-dir "$CONF" --profile dev \
    user list --all -o jsonl >/dev/null
CLI_RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
CLI_WALL=$(awk -F'): ' '/Elapsed \(wall clock\)/ {print $2}' "$TMP/time.txt")
printf 'CLI peak RSS: %s KB (%s MB), wall %s\n' "$CLI_RSS_KB" "$((CLI_RSS_KB / 1024))" "$CLI_WALL" >&2

# --- wrk ------------------------------------------------------------------------------
TOKEN=$(imadm auth token)
run_wrk() {
    local path=$1 out=$2
    # One request first: it must succeed (code 200), or wrk would time errors.
    local code
    code=$(curl -sS --cacert "$CA" -H "app_id: $APP" -H "access-token: $TOKEN" "$URL$path" | jq .code)
    [[ $code == 200 ]] || die "GET $path answered code $code"
    log "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION GET $path"
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --timeout 5s --latency \
        -H "app_id: $APP" -H "access-token: $TOKEN" "$URL$path" | tee "$out" >&2
    if grep -q 'Non-2xx' "$out"; then die "wrk saw non-2xx answers on $path"; fi
}
run_wrk "/admin/users?limit=100" "$TMP/wrk-admin.txt"
run_wrk "/user/list?page_num=1&page_size=20" "$TMP/wrk-lanying.txt"
RPS_ADMIN=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk-admin.txt")
RPS_LANYING=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk-lanying.txt")

SERVER_HWM_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
SERVER_RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")

# --- report ---------------------------------------------------------------------------
verdict() { if [[ $1 == 1 ]]; then echo "met"; else echo "MISSED"; fi; }
{
    echo "# user list benchmark, $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM;"
    echo "$("$IMADM" --version); $(sqlite3 --version | cut -d' ' -f1-2 | sed 's/^/sqlite3 /'); $USERS users."
    echo
    echo "Command: \`bench/user-list.sh\` (BENCH_RUNS=$RUNS, wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION)"
    echo
    echo "## hyperfine"
    echo
    sed -e "s#$CONF#\$CONF#g" -e "s#$DB#\$DB#g" "$TMP/hyperfine.md"
    echo
    echo "CLI / sqlite3 = ${RATIO}x (target <= 3x: $(verdict "$(jq -n "$RATIO <= 3 | if . then 1 else 0 end")"))"
    echo
    echo "## Peak RSS"
    echo
    echo "- CLI (\`/usr/bin/time -v\`, one full export): $CLI_RSS_KB KB = $(jq -n "$CLI_RSS_KB / 1024 * 10 | round / 10") MB (target < 32 MB: $(verdict $((CLI_RSS_KB < 32768 ? 1 : 0))))"
    echo "- server (VmHWM after the whole run, including wrk): $SERVER_HWM_KB KB; VmRSS now $SERVER_RSS_KB KB"
    echo
    echo "## wrk (-t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION, HTTPS on loopback)"
    echo
    echo "- GET /admin/users?limit=100: $RPS_ADMIN req/s (target >= 10,000: $(verdict "$(jq -n "$RPS_ADMIN >= 10000 | if . then 1 else 0 end")"))"
    echo "- GET /user/list?page_num=1&page_size=20: $RPS_LANYING req/s (target >= 10,000: $(verdict "$(jq -n "$RPS_LANYING >= 10000 | if . then 1 else 0 end")"))"
    echo
    echo '```'
    cat "$TMP/wrk-admin.txt"
    echo
    cat "$TMP/wrk-lanying.txt"
    echo '```'
} >"$REPORT"
log "report: $REPORT"
cat "$REPORT"
