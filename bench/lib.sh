# bench/lib.sh: sourced by bench/*.sh. Owns what every benchmark does before it measures:
# its tools (installed from Debian when run as root), the release build, a throw-away dev
# server on loopback with a logged-in `dev` profile, cleanup on exit, and the name of the
# result files (timestamped, so a second run on the same day keeps the first).
#
# Knobs (environment): IMADM_BIN (a built binary instead of `cargo build --release`, e.g.
# target/debug/imadm for a quick check of a script; its figures are then not comparable),
# BENCH_KEEP=1 (keep the temp dir), CARGO_TARGET_DIR (reused, like cargo does).

# shellcheck disable=SC2034 # DB, APP, CA, ...: set here for the scripts that source this
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS="$ROOT/bench/results"

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# bench_result NAME: the results path prefix for this run, e.g.
# bench/results/audit-2026-11-27T140512Z (the caller adds .md / .json). UTC, to the second.
bench_result() {
    mkdir -p "$RESULTS"
    printf '%s/%s-%s' "$RESULTS" "$1" "$(date -u +%Y-%m-%dT%H%M%SZ)"
}

# bench_require CMD:PACKAGE...: each command on PATH, or its Debian package installed
# (as root), or a stop naming what is missing. jq is always needed (bench_start_server).
bench_require() {
    local pair cmd missing=()
    for pair in "$@" jq:jq; do
        cmd=${pair%%:*}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("${pair##*:}")
    done
    command -v cargo >/dev/null || [[ -n ${IMADM_BIN:-} ]] || die "cargo is needed to build the release binary"
    ((${#missing[@]})) || return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 \
            || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; }
    else
        die "missing tools: ${missing[*]} (Debian packages; run as root to install them, or apt-get install -y ${missing[*]})"
    fi
}

# bench_build: sets IMADM to the release binary (built now) or to $IMADM_BIN.
bench_build() {
    if [[ -n ${IMADM_BIN:-} ]]; then
        IMADM=$(realpath "$IMADM_BIN")
        log "using $IMADM (IMADM_BIN)"
    else
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --locked --bin imadm >&2)
        IMADM=$(realpath "${CARGO_TARGET_DIR:-$ROOT/target}/release/imadm")
    fi
    [[ -x $IMADM ]] || die "no imadm binary at $IMADM"
}

# bench_tmp: TMP (with DATA and CONF in it), removed on exit with the server stopped.
bench_tmp() {
    TMP=$(mktemp -d -t imadm-bench-XXXXXX)
    DATA="$TMP/data"
    CONF="$TMP/config"
    DB="$DATA/imadm.db"
    mkdir -p "$CONF"
    trap _bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

SERVER_PID=
_bench_cleanup() {
    bench_stop_server
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        echo "kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}

# bench_start_server: `imadm server --dev` on 127.0.0.1 over DATA/CONF; sets SERVER_PID and
# what it announced: URL, APP, CA, ADMIN, PW, SECRET. Starting it again on the same data
# dir (after bench_stop_server) reuses the database.
bench_start_server() {
    log "starting imadm server --dev on 127.0.0.1"
    : >"$TMP/server.json"
    "$IMADM" --config-dir "$CONF" server --dev -o json --listen 127.0.0.1:0 \
        --data-dir "$DATA" >"$TMP/server.json" 2>"$TMP/server.log" </dev/null &
    SERVER_PID=$!
    for _ in $(seq 300); do
        [[ -s $TMP/server.json ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "the server exited"; }
        sleep 0.2
    done
    [[ -s $TMP/server.json ]] || die "the server did not announce itself within 60 s"
    local info
    info=$(head -n1 "$TMP/server.json")
    URL=$(jq -r .server <<<"$info")
    APP=$(jq -r .app_id <<<"$info")
    CA=$(jq -r .ca_cert <<<"$info")
    ADMIN=$(jq -r .username <<<"$info")
    PW=$(jq -r .password <<<"$info")
    SECRET=$(jq -r .totp_secret <<<"$info")
    [[ $URL == https://127.0.0.1:* ]] || die "unexpected server URL $URL (loopback only)"
}

# bench_stop_server: SIGTERM, up to 10 s to finish, then SIGKILL.
bench_stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# imadm ARGS...: the CLI on the bench's `dev` profile.
imadm() { "$IMADM" --config-dir "$CONF" --profile dev "$@"; }

# bench_login: the dev admin logs in (password on stdin, TOTP from oathtool, file store).
bench_login() {
    log "logging in as $ADMIN"
    printf '%s' "$PW" | imadm auth login --username "$ADMIN" --password-stdin \
        --otp "$(oathtool --totp -b "$SECRET")" --insecure-storage >&2
}
