#!/usr/bin/env bash
# bench/postgres.sh: the PostgreSQL store beside SQLite, in one run (issue #16, section 6).
#
# What it measures, each figure on both stores of the same machine in the same run:
#   1. hyperfine: `imadm user list --all -o jsonl` of BENCH_USERS (100,000) users beside
#      the database's own dump of the same rows (`psql -c "\copy (select …) to stdout"`,
#      and `sqlite3 -json` for SQLite). Target on PostgreSQL: the CLI within 3x of psql.
#   2. /usr/bin/time -v: the CLI's peak RSS during one full export (target < 32 MB).
#   3. wrk, bounded (-t2 -c32 -d10s), loopback: authenticated GET /user/list. Target on
#      PostgreSQL: >= 8,000 requests/s on one instance.
#   4. Mutations: POST /user/register/v2 (`user create`) with unique names from a wrk Lua
#      script, requests/s with one instance, then with two instances on the one database
#      (a wrk against each, at the same time); then `imadm audit export` (which verifies
#      the chain as it reads it) must pass, with as many `user.create` events as users
#      made. Each create hashes a password with argon2 (~20 ms of CPU), so on a 2-core
#      machine this measures argon2 more than the store; the figure shows the audit
#      chain's lock is not the limit, not how far instances scale.
#
# How to run: `bash bench/postgres.sh` (~3 minutes after the release build).
# Knobs: BENCH_USERS (100000), BENCH_RUNS (10), WRK_DURATION (10s), MUT_DURATION (10s);
#   bench/lib.sh's IMADM_BIN, BENCH_KEEP=1, CARGO_TARGET_DIR.
# Needs (Debian): postgresql (initdb, pg_ctl, psql), hyperfine, wrk, sqlite3, oathtool, time,
#   curl, jq. The cluster is a throwaway one in the temp dir (scripts/pg-cluster.sh), on
#   127.0.0.1, stopped and removed on exit.
# Report: bench/results/postgres-<UTC date>T<HHMMSS>Z.md
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
USERS=${BENCH_USERS:-100000}
RUNS=${BENCH_RUNS:-10}
WRK_DURATION=${WRK_DURATION:-10s}
MUT_DURATION=${MUT_DURATION:-10s}
OUT=$(bench_result postgres)
REPORT="$OUT.md"

bench_require hyperfine:hyperfine wrk:wrk sqlite3:sqlite3 oathtool:oathtool /usr/bin/time:time \
    curl:curl psql:postgresql
bench_build
bench_tmp

# Beside TMP, not in it: as root the cluster runs as `nobody`, which cannot enter the
# private TMP.
PGDIR=$(mktemp -d -t imadm-bench-pg-XXXXXX)
PG_URL=$("$ROOT/scripts/pg-cluster.sh" start "$PGDIR")
SQLITE_PID=
PG2_PID=
# shellcheck disable=SC2329 # called by the EXIT trap
stop_all() {
    local p
    for p in $SQLITE_PID $PG2_PID; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $SQLITE_PID $PG2_PID; do wait "$p" 2>/dev/null || true; done
    bench_stop_server
    "$ROOT/scripts/pg-cluster.sh" stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
    _bench_cleanup
}
trap stop_all EXIT
PSQL=$(command -v psql)
# psql and hyperfine get the URL without its password (argv is world-readable); libpq
# reads it from PGPASSWORD.
PGPASSWORD=$(jq -rn --arg u "$PG_URL" '$u | capture("^postgres://[^:]*:(?<p>[^@]*)@").p')
export PGPASSWORD
PG_URL_NOPW=${PG_URL/:$PGPASSWORD@/@}
psql_() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$PG_URL_NOPW" "$@"; }

# One server per store, each with its own config dir and `dev` profile (the store comes
# from the environment: IMADM_DATABASE_URL for PostgreSQL).
start_store() { # NAME
    DATA="$TMP/data-$1" CONF="$TMP/config-$1"
    mkdir -p "$CONF"
    bench_start_server
    bench_login
}

# The same rows and columns as `user list -o jsonl` prints, from each database.
SQLITE_DUMP="SELECT user_id, username, CASE disabled WHEN 0 THEN 'active' ELSE 'disabled' END AS status, strftime('%Y-%m-%dT%H:%M:%SZ', created_at, 'unixepoch') AS created_at FROM im_users ORDER BY user_id"
PG_DUMP="SELECT json_build_object('user_id', user_id, 'username', username, 'status', CASE disabled WHEN 0 THEN 'active' ELSE 'disabled' END, 'created_at', to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) FROM im_users ORDER BY user_id"

seed() { # STORE: USERS users, one through the API (for its argon2 hash), the rest by SQL
    log "seeding $USERS IM users ($1)"
    printf '%s' "bench-password-1" | imadm user create bench_seed --password-stdin -o json >/dev/null
    if [[ $1 == sqlite ]]; then
        sqlite3 "$DATA/imadm.db" >/dev/null <<SQL
.timeout 30000
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS - 1)
INSERT INTO im_users (username, password_hash, disabled, created_at, updated_at)
SELECT printf('bench_%07d', i), (SELECT password_hash FROM im_users WHERE username = 'bench_seed'),
       i % 10 = 0, 1700000000 + i, 1700000000 + i FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
    else
        psql_ <<SQL
BEGIN;
INSERT INTO im_users (user_id, username, password_hash, disabled, created_at, updated_at)
SELECT (SELECT max(user_id) FROM im_users) + i, format('bench_%s', lpad(i::text, 7, '0')),
       (SELECT password_hash FROM im_users WHERE username = 'bench_seed'),
       (i % 10 = 0)::int, 1700000000 + i, 1700000000 + i
FROM generate_series(1, $USERS - 1) AS i;
SELECT setval(pg_get_serial_sequence('im_users', 'user_id'), (SELECT max(user_id) FROM im_users));
COMMIT;
VACUUM ANALYZE im_users;
SQL
    fi
}

# The CLI's export must hold exactly the database's rows, so the comparison is like for like.
same_rows() { # STORE
    imadm user list --all -o jsonl | jq -S -c . >"$TMP/cli-$1.jsonl"
    if [[ $1 == sqlite ]]; then
        sqlite3 -json "$DATA/imadm.db" "$SQLITE_DUMP" | jq -S -c '.[]' >"$TMP/db-$1.jsonl"
    else
        psql_ -c "\\copy ($PG_DUMP) to stdout" | jq -S -c . >"$TMP/db-$1.jsonl"
    fi
    cmp -s "$TMP/cli-$1.jsonl" "$TMP/db-$1.jsonl" || {
        diff "$TMP/cli-$1.jsonl" "$TMP/db-$1.jsonl" | head -5 >&2
        die "the CLI export and the $1 dump differ"
    }
    [[ $(wc -l <"$TMP/cli-$1.jsonl") == "$USERS" ]] || die "expected $USERS rows ($1)"
}

peak_rss_kb() {
    /usr/bin/time -v -o "$TMP/time.txt" "$IMADM" --config-dir "$CONF" --profile dev \
        user list --all -o jsonl >/dev/null
    awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt"
}

wrk_list() { # OUT: requests/s of GET /user/list
    local token path="/user/list?page_num=1&page_size=20" code
    token=$(imadm auth token)
    code=$(curl -sS --cacert "$CA" -H "app_id: $APP" -H "access-token: $token" "$URL$path" | jq .code)
    [[ $code == 200 ]] || die "GET $path answered code $code"
    wrk -t2 -c32 -d"$WRK_DURATION" --timeout 5s -H "app_id: $APP" -H "access-token: $token" \
        "$URL$path" >"$1"
    ! grep -q 'Non-2xx' "$1" || { cat "$1" >&2; die "wrk saw non-2xx answers"; }
    awk '/Requests\/sec/ {print $2}' "$1"
}

# Unique names per wrk thread and per wrk process (PREFIX), so no create conflicts. The
# API answers errors as HTTP 200 with a `code` in the body (Lanying's convention), so the
# script counts bodies whose code is not 200 and prints them in done(); wrk_create fails
# on any. wrk.format replaces wrk.headers when given headers, hence the copy.
cat >"$TMP/create.lua" <<'LUA'
-- Globals, not locals: thread:set/get reach a thread's globals only.
counter, id, bad, threads = 0, 0, 0, {}
local prefix = os.getenv("PREFIX") or "w"
local next_id = 0
function setup(thread) next_id = next_id + 1; thread:set("id", next_id); table.insert(threads, thread) end
function request()
  counter = counter + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  local body = string.format('{"username":"%s_%d_%d","password":"bench-password-1"}', prefix, id, counter)
  return wrk.format("POST", "/user/register/v2", headers, body)
end
function response(status, headers, body)
  if not string.find(body, '^{"code":200,') then bad = bad + 1; last_bad = body end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    if t:get("last_bad") then io.write("bad answer: ", t:get("last_bad"), "\n") end
  end
  io.write("bad answers: ", total, "\n")
end
LUA
wrk_create() { # URL TOKEN PREFIX OUT
    PREFIX=$3 wrk -t2 -c8 -d"$MUT_DURATION" --timeout 10s -s "$TMP/create.lua" \
        -H "app_id: $APP" -H "access-token: $2" "$1" >"$4"
    ! grep -q 'Non-2xx' "$4" || { cat "$4" >&2; die "wrk saw non-2xx answers on create"; }
    grep -q '^bad answers: 0$' "$4" || { cat "$4" >&2; die "creates answered errors"; }
    awk '/Requests\/sec/ {print $2}' "$4"
}

# measure STORE DUMP_NAME DUMP_COMMAND: hyperfine of the CLI export beside the database's
# own dump (into $TMP/hf-STORE.json), then the CLI's peak RSS and wrk's GET /user/list
# rate (into RSS and RPS) against the server of STORE.
measure() {
    log "hyperfine ($1): CLI export vs $2"
    hyperfine --warmup 1 --runs "$RUNS" --style basic --export-json "$TMP/hf-$1.json" \
        -n "imadm user list ($1)" "$IMADM --config-dir $CONF --profile dev user list --all -o jsonl > /dev/null" \
        -n "$2" "$3" >&2
    RSS=$(peak_rss_kb)
    log "wrk GET /user/list ($1)"
    RPS=$(wrk_list "$TMP/wrk-$1.txt")
}

# --- SQLite --------------------------------------------------------------------------
start_store sqlite
seed sqlite
same_rows sqlite
measure sqlite "sqlite3 -json" "sqlite3 -json $DATA/imadm.db \"$SQLITE_DUMP\" > /dev/null"
S_RSS=$RSS S_RPS=$RPS
S_CREATE=$(wrk_create "$URL" "$(imadm auth token)" s "$TMP/create-sqlite.txt")
SQLITE_PID=$SERVER_PID SERVER_PID=

# --- PostgreSQL, one instance --------------------------------------------------------
# The URL holds the cluster's password: in the environment, never in argv.
export IMADM_DATABASE_URL=$PG_URL
start_store pg
seed pg
same_rows pg
printf '%s\n' "\\copy ($PG_DUMP) to stdout" >"$TMP/copy.sql"
measure pg "psql \\copy" "$PSQL -X -q $PG_URL_NOPW -f $TMP/copy.sql > /dev/null"
P_RSS=$RSS P_RPS=$RPS
TOKEN=$(imadm auth token)
P_CREATE1=$(wrk_create "$URL" "$TOKEN" a "$TMP/create-pg1.txt")

# --- PostgreSQL, two instances -------------------------------------------------------
# The second instance: its own data dir holding the same keys (and the same dev TLS
# certificate, so the one CA the profile trusts covers both), on the same database.
log "second instance on the same database"
DATA2="$TMP/data-pg2"
cp -a "$DATA" "$DATA2"
rm -f "$DATA2/server.lock"
URL1=$URL
"$IMADM" --config-dir "$TMP/config-pg2" server --dev -o json --listen 127.0.0.1:0 \
    --data-dir "$DATA2" >"$TMP/server2.json" 2>"$TMP/server2.log" </dev/null &
PG2_PID=$!
for _ in $(seq 300); do [[ -s $TMP/server2.json ]] && break; sleep 0.2; done
URL2=$(head -n1 "$TMP/server2.json" | jq -r .server)
[[ $URL2 == https://127.0.0.1:* ]] || { cat "$TMP/server2.log" >&2; die "the second instance did not start"; }
wrk_create "$URL1" "$TOKEN" b "$TMP/create-pg2a.txt" >"$TMP/rps-a" &
WRK_A=$!
wrk_create "$URL2" "$TOKEN" c "$TMP/create-pg2b.txt" >"$TMP/rps-b"
# By pid: the servers are background jobs too, so `wait %1` would wait for a server.
wait "$WRK_A"
P_CREATE2=$(awk '{s += $1} END {printf "%.2f", s}' "$TMP/rps-a" "$TMP/rps-b")

log "audit chain after the concurrent writers"
imadm -q audit export --out "$TMP/audit.json" >/dev/null
CREATES=$(jq '[.events[] | select(.action == "user.create" and .outcome == "success")] | length' "$TMP/audit.json")
MADE=$(psql_ -t -A -c "SELECT count(*) FROM im_users WHERE username ~ '^[abc]_'")
[[ $CREATES -ge $MADE ]] || die "$MADE users made but only $CREATES user.create events"

# --- report --------------------------------------------------------------------------
mean() { jq ".results[$2].mean * 1000 | round / 1000" "$1"; }
ratio() { jq -n "$1 / $2 * 100 | round / 100"; }
verdict() { if [[ $(jq -n "$1") == true ]]; then echo "met"; else echo "MISSED"; fi; }
S_CLI=$(mean "$TMP/hf-sqlite.json" 0) S_DB=$(mean "$TMP/hf-sqlite.json" 1)
P_CLI=$(mean "$TMP/hf-pg.json" 0) P_DB=$(mean "$TMP/hf-pg.json" 1)
{
    echo "# PostgreSQL store benchmark, $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, load $(cut -d' ' -f1-3 /proc/loadavg);"
    echo "$("$IMADM" --version); $("$PSQL" --version); $USERS users."
    echo
    echo "Command: \`bash bench/postgres.sh\` (BENCH_RUNS=$RUNS, wrk -t2 -c32 -d$WRK_DURATION; creates wrk -t2 -c8 -d$MUT_DURATION)"
    echo
    echo "| figure | SQLite | PostgreSQL | target (PostgreSQL) |"
    echo "|---|---|---|---|"
    echo "| \`user list --all -o jsonl\`, mean s | $S_CLI | $P_CLI | |"
    echo "| database's own dump (sqlite3 -json / psql \\copy), mean s | $S_DB | $P_DB | |"
    echo "| CLI / dump | $(ratio "$S_CLI" "$S_DB") | $(ratio "$P_CLI" "$P_DB") | <= 3: $(verdict "$P_CLI / $P_DB <= 3") |"
    echo "| CLI peak RSS, MB | $(jq -n "$S_RSS / 1024 * 10 | round / 10") | $(jq -n "$P_RSS / 1024 * 10 | round / 10") | < 32: $(verdict "$P_RSS < 32768") |"
    echo "| GET /user/list, req/s | $S_RPS | $P_RPS | >= 8000: $(verdict "$P_RPS >= 8000") |"
    echo "| user create, req/s, 1 instance | $S_CREATE | $P_CREATE1 | |"
    echo "| user create, req/s, 2 instances | - | $P_CREATE2 | |"
    echo
    echo "Audit chain after the two-instance creates: \`imadm audit export\` verified it;"
    echo "$MADE users made by the two-instance run, $CREATES successful user.create events in all."
} >"$REPORT"
log "report: $REPORT"
cat "$REPORT"
