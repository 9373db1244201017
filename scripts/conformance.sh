#!/usr/bin/env bash
# API conformance (issue 3): run schemathesis with every check against a throw-away
# `imadm server --dev`:
#   1. Lanying's own document (tests/data/lanying/server-api.en.json, Swagger 2.0; its
#      source in tests/data/lanying/README.md), restricted to the Lanying operations this
#      server implements: Lanying's document is the contract of those routes;
#   2. our own /openapi.json (utoipa, generated from the handlers): every endpoint but
#      POST /admin/auth/logout, in two runs (the /admin/ extension, the Lanying routes).
# Exits non-zero on any failure, and on a missing prerequisite with what is missing and how
# to get it. Needs: schemathesis (the version pinned in scripts/conformance-requirements.txt)
# in the project's virtual environment target/venv (.ci/run creates it), oathtool, and a
# debug build of imadm (built here if missing). About a minute on 2 cores.
#
# Environment knobs: CONFORMANCE_MAX_EXAMPLES (default 25 per operation),
# CONFORMANCE_SEED (default 3), IMADM_BIN (default: cargo's debug binary), IMADM_VENV
# (default target/venv).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

max_examples="${CONFORMANCE_MAX_EXAMPLES:-25}"
seed="${CONFORMANCE_SEED:-3}"
lanying_doc="$PWD/tests/data/lanying/server-api.en.json"

# --- prerequisites: all reported at once, each with how to get it -----------------------
missing=0
need() { printf 'missing: %s\n  how: %s\n' "$1" "$2" >&2; missing=1; }
pinned="$(pinned_schemathesis)"
installed="$(venv_schemathesis)"
if [ ! -x "$VENV/bin/python" ]; then
  need "no Python virtual environment at $VENV (schemathesis $pinned runs from it)" \
    "bash .ci/run creates it; or: python3 -m venv $VENV && $VENV/bin/pip install -r $CONFORMANCE_REQUIREMENTS (Debian: apt-get install python3-venv first)"
elif [ "$installed" != "$pinned" ]; then
  need "schemathesis ${installed:-is not installed} in $VENV${installed:+, but $CONFORMANCE_REQUIREMENTS pins $pinned}" \
    "$VENV/bin/pip install -r $CONFORMANCE_REQUIREMENTS (bash .ci/run does this)"
fi
command -v oathtool >/dev/null ||
  need "oathtool is not installed (it computes the login's TOTP code)" "apt-get install oathtool (bash .ci/run does this)"
[ -f "$lanying_doc" ] ||
  need "Lanying's API document is missing: $lanying_doc" "it is part of the repository: git checkout -- tests/data/lanying"
[ "$missing" -eq 0 ] || fail "conformance: a prerequisite is missing (see above)"
python="$VENV/bin/python"
schemathesis="$VENV/bin/schemathesis"

if [ -z "${IMADM_BIN:-}" ]; then
  cargo build --locked -q --bin imadm
  IMADM_BIN="${CARGO_TARGET_DIR:-target}/debug/imadm"
fi
# Nothing from the caller's environment may redirect the CLI.
unset IMADM_TOKEN IMADM_OTP IMADM_PROFILE IMADM_SERVER IMADM_APP_ID IMADM_CA_CERT \
  IMADM_OUTPUT IMADM_NO_INPUT IMADM_CONFIG_DIR IMADM_LOG IMADM_SERVER_KEY_FILE

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # A dropped connection in a run usually means the server logged why (a panic): show it.
  if [ -s "$work/server.log" ] && grep -qiE "panic|error" "$work/server.log"; then
    echo "conformance: server log (errors):" >&2
    grep -iE -A3 "panic|error" "$work/server.log" | tail -40 >&2
  fi
  rm -rf "$work"
}
at_exit cleanup
mkdir -p "$work/data" "$work/config" "$work/reports"

# --- the server ------------------------------------------------------------------------
"$IMADM_BIN" server --dev -o json --listen 127.0.0.1:0 \
  --data-dir "$work/data" --config-dir "$work/config" >"$work/server.json" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 200); do
  [ -s "$work/server.json" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "conformance: the server exited"; }
  sleep 0.1
done
[ -s "$work/server.json" ] || fail "conformance: the server did not start"
field() { "$python" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$work/server.json" "$1"; }
server="$(field server)"
app_id="$(field app_id)"
ca_cert="$(field ca_cert)"
password="$(field password)"
secret="$(field totp_secret)"
echo "conformance: server $server (app_id $app_id)"

imadm() { "$IMADM_BIN" --config-dir "$work/config" --profile dev "$@"; }
printf '%s' "$password" | imadm auth login --username admin --password-stdin \
  --otp "$(oathtool --totp -b "$secret")" --insecure-storage >/dev/null

# A few users, so that the listings and the stateful phase see real rows.
for name in alice bob carol; do
  imadm user create "$name" --password-stdin <<<"pw-$name-123" >/dev/null 2>&1 || true
done

# Lanying answers business errors, malformed input included, with HTTP 200 and the
# error code in the body (server-api-quick-start.en.md: "will return an http code of 200
# in case of a business error"), and our Lanying routes do the same. So on those routes
# two checks that want a 4xx cannot hold, and are the only ones left out:
#   negative_data_rejection  (invalid input must get a 4xx)
#   missing_required_header  (a request without the user_id header must get a 4xx)
# Their answers to such input are still checked: response_schema_conformance validates
# the error envelope against the documented 200 schema, and not_a_server_error holds.
# (`--checks all` overrides a per-operation config, so they are excluded per run, and our
# own document is tested in two runs: the /admin/ extension with every check, the Lanying
# routes without those two.)
lanying_exclusions="negative_data_rejection,missing_required_header"
# Against Lanying's document only, also allow_header_conformance: we implement a subset of
# Lanying's operations (those listed below), so our `Allow` header rightly leaves out the
# methods of the same paths we do not offer (POST/PUT /user/profile, DELETE
# /message/conversation), which that check reads as missing. unsupported_method still
# checks the 405 and that an `Allow` header is there.
lanying_doc_exclusions="$lanying_exclusions,allow_header_conformance"
lanying_paths='^/(user|group|message)/'

status=0
failed_runs=0
run_schemathesis() {
  local label="$1"; shift
  local token
  token="$(imadm auth token)"
  echo "conformance: schemathesis against $label"
  # From the work dir: schemathesis keeps state in ./.schemathesis.
  # --request-retries: about one run in three saw one "SSL: EOF occurred in violation of
  # protocol" on a random mutating route. Likely cause, fixed: routes that take no body
  # left a sent body unread, and hyper then closes the keep-alive connection after the
  # response (reproduced with curl and a 500 KB body on /user/kick; such routes now read
  # and drop it, `http::Unused`). The retries stay as a guard for network-level failures
  # only; every check on a response (status, schema, conformance) still fails the run.
  if ! (cd "$work" && "$schemathesis" run "$@" \
      --checks all \
      --request-retries 2 \
      --max-examples "$max_examples" \
      --seed "$seed" \
      --generation-database none \
      --workers 1 \
      --request-timeout 10 \
      --tls-verify "$ca_cert" \
      --header "app_id: $app_id" \
      --header "access-token: $token" \
      --no-color \
      --report junit --report-dir "$work/reports/$label"); then
    echo "conformance: FAILED against $label" >&2
    status=1
    failed_runs=$((failed_runs + 1))
  fi
}

# --- 1. Lanying's document, the operations we implement ----------------------------------
# Lanying's document has one dangling reference among our operations (recorded in
# tests/data/lanying/README.md): GET
# /group/member_list answers `PagingResponse«List«Group member format»»`, defined as
# `PagingResponse«List« Group member format»»` (an extra space). Unresolved, schemathesis
# would skip validating that answer, so the run uses a copy with that one name fixed.
"$python" - "$lanying_doc" "$work/lanying.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
good, bad = "PagingResponse«List«Group member format»»", "PagingResponse«List« Group member format»»"
assert good not in doc["definitions"] and bad in doc["definitions"], "the Lanying document changed"
doc["definitions"][good] = doc["definitions"].pop(bad)
json.dump(doc, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
PY

# Selected by operationId: the (method, path) pairs listed in the comments.
lanying_ops=(
  registerUsingPOST_1             # POST   /user/register/v2
  batchRegisterUsingPOST          # POST   /user/register/batch
  listUsingGET                    # GET    /user/list
  profileUsingGET                 # GET    /user/profile
  disableUsingPUT                 # PUT    /user/disable
  enableUsingPUT                  # PUT    /user/enable
  deleteUsingPOST_1               # POST   /user/delete
  deleteUsingDELETE_1             # DELETE /user/delete
  changePasswordUsingPOST_1       # POST   /user/change_password_admin
  kickUsingPOST                   # POST   /user/kick
  kickUsingPUT                    # PUT    /user/kick
  createUsingPOST                 # POST   /group/create
  destroyUsingPOST                # POST   /group/destroy
  destroyUsingDELETE              # DELETE /group/destroy
  findGroupInfoUsingGET           # GET    /group/info
  findMemberListUsingGET          # GET    /group/member_list
  inviteUsersUsingPOST            # POST   /group/invite
  kickMembersUsingPOST            # POST   /group/kick
  kickMembersUsingDELETE          # DELETE /group/kick
  sendMessageUsingPOST            # POST   /message/send
  sendMessageUsingPUT             # PUT    /message/send
  getUserMessagesByConversationUsingGET  # GET /message/conversation
)
include=()
for op in "${lanying_ops[@]}"; do include+=(--include-operation-id "$op"); done
run_schemathesis lanying "$work/lanying.json" --url "$server" "${include[@]}" \
  --exclude-checks "$lanying_doc_exclusions"

# --- 2. our own OpenAPI document --------------------------------------------------------
# POST /admin/auth/logout is left out: it would end the very session the run tests with
# (every later request would get 401). Everything else runs, the destructive admin
# actions included: without a step-up TOTP code (x-imadm-otp) they answer 401/50010,
# which is documented, so they cannot delete or demote the test operator.
run_schemathesis openapi-admin "$server/openapi.json" \
  --exclude-path-regex "$lanying_paths" --exclude-path /admin/auth/logout
run_schemathesis openapi-lanying "$server/openapi.json" \
  --include-path-regex "$lanying_paths" --exclude-checks "$lanying_exclusions"

# One plain summary line for CI logs: the three schemathesis runs above.
echo "conformance: $((3 - failed_runs)) passed, $failed_runs failed"
[ "$status" -eq 0 ] || fail "conformance: $failed_runs of 3 schemathesis runs failed (see FAILED above)"
