#!/usr/bin/env bash
# bench/backup.sh: backup and restore throughput of about 1 GiB of messages.
#
# Seeds BENCH_MIB (default 1024) MiB of random message blobs with SQL, then BENCH_RUNS
# (default 3) interleaved times:
#   - `imadm backup run` to a local dir (snapshot -> age -> file, fsync) beside
#     `age -r` encrypting a plaintext snapshot of the same size file->file and
#     `restic backup` of that plaintext file;
#   - the same `imadm backup run` to a local S3 server (s3s-fs, as .ci/run installs it into
#     target/tools; or S3S_FS=path) over http on 127.0.0.1, its CompleteMultipartUpload
#     (from the CLI's debug log) also reported apart;
#   - the same to Ceph's RGW (scripts/ceph-rgw.sh: one monitor, one OSD, radosgw, from
#     Debian's ceph-mon ceph-osd radosgw), an S3 service that completes a multipart upload
#     without copying it; BENCH_RGW=0 skips it;
#   - `imadm backup restore` beside `age -d` of the archive.
# Targets: backup >= 60 % of the age CLI's throughput and >= 3x restic's; backup to S3 >=
# 70 % of backup to a directory (either server); restore >= 50 % of `age -d`; peak RSS (VmHWM / time -v) of
# CLI and server < 64 MB each.
# Needs (Debian): age restic sqlite3 oathtool jq time (bench/lib.sh installs them as root).
# Knobs: BENCH_MIB, BENCH_RUNS; and bench/lib.sh's IMADM_BIN, BENCH_KEEP=1.
# Report: bench/results/backup-<UTC date>T<HHMMSS>Z.md
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MIB=${BENCH_MIB:-1024}
OUT=$(bench_result backup)
REPORT="$OUT.md"

bench_require age:age restic:restic sqlite3:sqlite3 oathtool:oathtool /usr/bin/time:time
RGW=${BENCH_RGW:-1}
((RGW == 0)) || bench_require ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw curl:curl
bench_build
bench_tmp
bench_start_server
bench_login

S3S_FS=${S3S_FS:-$ROOT/target/tools/bin/s3s-fs}
[[ -x $S3S_FS ]] || die "no s3s-fs at $S3S_FS (.ci/run installs it; or set S3S_FS)"
S3_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/s3/bench"
"$S3S_FS" --host 127.0.0.1 --port "$S3_PORT" --access-key bench --secret-key bench-secret \
    "$TMP/s3" >"$TMP/s3s-fs.log" 2>&1 &
S3_PID=$!
# Stop them before lib.sh's cleanup removes their directories.
trap '[[ -z ${S3_PID:-} ]] || kill "$S3_PID" 2>/dev/null
    ((RGW == 0)) || "$ROOT/scripts/ceph-rgw.sh" stop "$TMP/rgw" 2>/dev/null; _bench_cleanup' EXIT
S3_ENV=(AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
    AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT")
if ((RGW)); then
    log "starting Ceph RGW (scripts/ceph-rgw.sh)"
    RGW_URL=$("$ROOT/scripts/ceph-rgw.sh" start "$TMP/rgw")
    # http://KEY:SECRET@HOST:PORT
    RGW_KEYS=${RGW_URL#http://} RGW_KEYS=${RGW_KEYS%@*}
    RGW_ENV=(AWS_ACCESS_KEY_ID="${RGW_KEYS%%:*}" AWS_SECRET_ACCESS_KEY="${RGW_KEYS#*:}"
        AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://${RGW_URL##*@}")
    # The secret on curl's argv is the throwaway gateway's own.
    # (RGW wants the payload hash header, which curl does not send by itself.)
    curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user "$RGW_KEYS" -X PUT \
        -H "x-amz-content-sha256: $(sha256sum </dev/null | cut -d' ' -f1)" \
        "http://${RGW_URL##*@}/bench" >/dev/null || die "cannot create the bucket on RGW"
    # Monitor, OSD and gateway: the S3 service's CPU is theirs together.
    RGW_PIDS=()
    for f in "$TMP"/rgw/run/*.pid; do RGW_PIDS+=("$(cat "$f")"); done
fi

log "seeding $MIB MiB of messages (random 64 KiB blobs)"
sqlite3 "$DB" >/dev/null <<SQL
.timeout 30000
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $MIB * 16)
INSERT INTO im_messages (from_id, to_type, to_id, content, created_at)
SELECT i, 'user', i + 1, randomblob(65536), 1700000000 + i FROM n;
COMMIT;
SQL

age-keygen -o "$TMP/key.txt" 2>/dev/null
RCPT=$(age-keygen -y "$TMP/key.txt")
mkdir -p "$TMP/out" "$TMP/restic"
secs() { python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$@"; }
timed() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); secs "$t0" "$t1"; }
# The server's CompleteMultipartUpload, in seconds, from the CLI's debug log.
completion() {
    python3 - "$1" <<'PY'
import re, sys
m = re.search(r"CompleteMultipartUpload took ([0-9.]+)(ms|s|µs)", open(sys.argv[1]).read())
print(float(m[1]) / {"s": 1, "ms": 1e3, "µs": 1e6}[m[2]] if m else 0)
PY
}
rss() { grep -o 'Maximum resident set size (kbytes): [0-9]*' "$1" | grep -o '[0-9]*$'; }
# CPU seconds (user + system) used so far by the given processes, and by a finished
# command from its `time -v` report: where each step's CPU goes on the shared cores.
TCK=$(getconf CLK_TCK)
cpu_of() {
    local pid t=0
    for pid in "$@"; do
        t=$((t + $(cut -d')' -f2 "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    python3 -c 'import sys; print(int(sys.argv[1]) / int(sys.argv[2]))' "$t" "$TCK"
}
cpu_time() {
    python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
print(sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", t)))
PY
}
# cpu_mark [S3 PIDS]: note the CPU the imadm server and the S3 service used so far;
# cpu_since TIME_FILE [S3 PIDS]: "CLI server S3" seconds since, the CLI's from its report.
cpu_mark() { c0=$(cpu_of "$SERVER_PID") s0=$(cpu_of "$@"); }
cpu_since() {
    local f=$1
    shift
    echo "$(cpu_time "$f") $(secs "$c0" "$(cpu_of "$SERVER_PID")") $(secs "$s0" "$(cpu_of "$@")")"
}

# Each step runs BENCH_RUNS times, interleaved (imadm, age, restic, age -d, imadm restore),
# and the report gives the median and the range: on a shared 2-core machine one run of
# anything varies by +-20 %, and interleaving exposes every tool to the same conditions.
# Every timed step starts after a `sync`, so none pays for the previous one's dirty pages.
RUNS=${BENCH_RUNS:-3}
# A restore needs a TOTP code of a step not used before (replay protection), the login's
# included: with a small BENCH_MIB the first restore comes within the same 30 s.
# fresh_otp sets OTP and must not run in a subshell (`$(fresh_otp)`), or last_step would
# not stick and two restores within one step would present the same code.
last_step=$(($(date +%s) / 30))
fresh_otp() {
    local step
    step=$(($(date +%s) / 30))
    if ((step <= last_step)); then
        sleep $((30 - $(date +%s) % 30 + 1))
        step=$(($(date +%s) / 30))
    fi
    last_step=$step
    OTP=$(oathtool --totp -b "$SECRET")
}
c_dir=() c_s3=() c_rgw=() t_backup=() t_s3=() t_complete=() t_rgw=() t_rgw_complete=() t_s3_net=() t_age=() t_restic=() t_age_d=() t_restore=()
export RESTIC_PASSWORD=bench
for run in $(seq "$RUNS"); do
    log "run $run of $RUNS: imadm backup run"
    rm -rf "$TMP/out" && mkdir -p "$TMP/out" && sync
    cpu_mark
    t0=$(date +%s.%N)
    /usr/bin/time -v -o "$TMP/run.time" "$IMADM" --config-dir "$CONF" --profile dev \
        backup run --recipient "$RCPT" --to "$TMP/out" -o json >"$TMP/run.json"
    t1=$(date +%s.%N); t_backup+=("$(secs "$t0" "$t1")")
    c_dir+=("$(cpu_since "$TMP/run.time")")
    if ((run == 1)); then
        ARCHIVE="$TMP/archive.age"
        mv "$(jq -r '.archives[0]' "$TMP/run.json")" "$ARCHIVE"
        SIZE=$(stat -c %s "$ARCHIVE")
        server_hwm=$(grep VmHWM "/proc/$SERVER_PID/status" | grep -o '[0-9]*')
        log "plaintext snapshot of the same size, for age and restic"
        age -d -i "$TMP/key.txt" -o "$TMP/plain.bin" "$ARCHIVE"
    fi
    log "run $run: imadm backup run to S3 (s3s-fs)"
    rm -rf "$TMP/s3/bench/run" && sync
    cpu_mark "$S3_PID"
    t0=$(date +%s.%N)
    # Its debug log times the test server's CompleteMultipartUpload (a copy of every part
    # into the object, on s3s-fs), reported apart.
    /usr/bin/time -v -o "$TMP/s3.time" env "${S3_ENV[@]}" IMADM_LOG=imadm=debug "$IMADM" \
        --config-dir "$CONF" --profile dev backup run --recipient "$RCPT" --to s3://bench/run \
        -o json >/dev/null 2>"$TMP/s3.log"
    t1=$(date +%s.%N); t_s3+=("$(secs "$t0" "$t1")")
    c_s3+=("$(cpu_since "$TMP/s3.time" "$S3_PID")")
    t_complete+=("$(completion "$TMP/s3.log")")
    t_s3_net+=("$(secs "${t_complete[-1]}" "${t_s3[-1]}")")
    if ((RGW)); then
        log "run $run: imadm backup run to S3 (Ceph RGW)"
        sync
        cpu_mark "${RGW_PIDS[@]}"
        t0=$(date +%s.%N)
        /usr/bin/time -v -o "$TMP/rgw.time" env "${RGW_ENV[@]}" IMADM_LOG=imadm=debug "$IMADM" \
            --config-dir "$CONF" --profile dev backup run --recipient "$RCPT" \
            --to "s3://bench/run$run" -o json >/dev/null 2>"$TMP/rgw.log"
        t1=$(date +%s.%N); t_rgw+=("$(secs "$t0" "$t1")")
        c_rgw+=("$(cpu_since "$TMP/rgw.time" "${RGW_PIDS[@]}")")
        t_rgw_complete+=("$(completion "$TMP/rgw.log")")
    fi
    log "run $run: age -r, restic backup (fresh repository), age -d"
    rm -f "$TMP/plain.age" && sync
    t_age+=("$(timed age -r "$RCPT" -o "$TMP/plain.age" "$TMP/plain.bin")")
    rm -rf "$TMP/restic" && restic init -q -r "$TMP/restic" >/dev/null && sync
    t_restic+=("$(timed restic backup -q -r "$TMP/restic" "$TMP/plain.bin")")
    rm -f "$TMP/plain2.bin" && sync
    t_age_d+=("$(timed age -d -i "$TMP/key.txt" -o "$TMP/plain2.bin" "$TMP/plain.age")")
    log "run $run: imadm backup restore"
    fresh_otp
    sync
    t0=$(date +%s.%N)
    # The step-up code through the environment, not argv (visible in ps).
    IMADM_OTP=$OTP /usr/bin/time -v -o "$TMP/restore.time" "$IMADM" --config-dir "$CONF" \
        --profile dev --yes backup restore "$ARCHIVE" --identity "$TMP/key.txt" -o json >/dev/null
    t1=$(date +%s.%N); t_restore+=("$(secs "$t0" "$t1")")
    # A restore ends every session, the restorer's too (untimed): log in again.
    fresh_otp
    printf '%s' "$PW" | IMADM_OTP=$OTP imadm auth login --username "$ADMIN" --password-stdin \
        --insecure-storage >/dev/null
done
server_hwm2=$(grep VmHWM "/proc/$SERVER_PID/status" | grep -o '[0-9]*')

# "median s (min-max) | MB/s of the median" for a list of seconds.
stat_of() {
    python3 - "$SIZE" "$@" <<'PY'
import statistics, sys
size = int(sys.argv[1]); xs = sorted(float(x) for x in sys.argv[2:])
m = statistics.median(xs)
print(f"{m:.2f} ({xs[0]:.2f}-{xs[-1]:.2f}) | {size / m / 1e6:.1f}")
PY
}
ratio() {
    python3 - "$1" "$2" <<'PY'
import statistics, sys
a = statistics.median(float(x) for x in sys.argv[1].split())
b = statistics.median(float(x) for x in sys.argv[2].split())
print(f"{b / a:.2f}")
PY
}
# "| NAME | cli | server | s3 | sum | wall |": medians of "cli server s3" triples.
cpu_row() {
    python3 - "$@" <<'PY'
import statistics, sys
name, wall, runs = sys.argv[1], sys.argv[2], [list(map(float, r.split())) for r in sys.argv[3:]]
cols = [statistics.median(r[i] for r in runs) for i in range(3)]
total = statistics.median(sum(r) for r in runs)
w = statistics.median(float(x) for x in wall.split())
print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cols) + f" | {total:.2f} | {w:.2f} |")
PY
}
rgw_ratio="" rgw_rss=""
if ((RGW)); then
    rgw_ratio="S3 (Ceph RGW) / directory = $(ratio "${t_rgw[*]}" "${t_backup[*]}") (target >= 0.70),"
    rgw_rss="backup CLI to RGW $(rss "$TMP/rgw.time") kB,"
fi
{
    echo "# backup benchmark $(date -u +'%Y-%m-%d %H:%M UTC') ($MIB MiB of messages, archive $SIZE bytes)"
    echo
    echo "Conditions: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS interleaved runs per step"
    echo
    echo "Binary: $IMADM ($("$IMADM" --version))"
    echo
    echo "| step | seconds: median (min-max) | MB/s (median) |"
    echo "|---|---|---|"
    echo "| imadm backup run | $(stat_of "${t_backup[@]}") |"
    echo "| imadm backup run to S3 (s3s-fs) | $(stat_of "${t_s3[@]}") |"
    echo "| of which the server's CompleteMultipartUpload | $(stat_of "${t_complete[@]}") |"
    echo "| S3 run less that completion | $(stat_of "${t_s3_net[@]}") |"
    if ((RGW)); then
        echo "| imadm backup run to S3 (Ceph RGW) | $(stat_of "${t_rgw[@]}") |"
        echo "| of which RGW's CompleteMultipartUpload | $(stat_of "${t_rgw_complete[@]}") |"
    fi
    echo "| age -r file->file | $(stat_of "${t_age[@]}") |"
    echo "| restic backup | $(stat_of "${t_restic[@]}") |"
    echo "| imadm backup restore | $(stat_of "${t_restore[@]}") |"
    echo "| age -d file->file | $(stat_of "${t_age_d[@]}") |"
    echo
    echo "Ratios of medians: backup / age -r = $(ratio "${t_backup[*]}" "${t_age[*]}") (target >= 0.60),"\
        "backup / restic = $(ratio "${t_backup[*]}" "${t_restic[*]}") (target >= 3),"\
        "S3 / directory = $(ratio "${t_s3[*]}" "${t_backup[*]}") (target >= 0.70;"\
        "less the server's completion: $(ratio "${t_s3_net[*]}" "${t_backup[*]}")),"\
        "$rgw_ratio"\
        "restore / age -d = $(ratio "${t_restore[*]}" "${t_age_d[*]}") (target >= 0.50)"
    echo
    echo "CPU seconds per run, median (user + system; two cores give at most twice the wall time):"
    echo
    echo "| run to | CLI | imadm server | S3 service | all three | wall |"
    echo "|---|---|---|---|---|---|"
    cpu_row "a directory" "${t_backup[*]}" "${c_dir[@]}"
    cpu_row "S3 (s3s-fs)" "${t_s3[*]}" "${c_s3[@]}"
    ((RGW == 0)) || cpu_row "S3 (Ceph RGW)" "${t_rgw[*]}" "${c_rgw[@]}"
    echo
    echo "Peak RSS: backup CLI $(rss "$TMP/run.time") kB, backup CLI to S3 $(rss "$TMP/s3.time") kB, $rgw_rss restore CLI $(rss "$TMP/restore.time") kB, server VmHWM $server_hwm2 kB (after backup: $server_hwm kB)"
} | tee "$REPORT"
