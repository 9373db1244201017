# scripts/lib.sh: sourced by .ci/run, scripts/test.sh and scripts/conformance.sh. Owns what
# they share: the project's Python environment for schemathesis (path and pin); `step`,
# which runs one named step, and `fail`, so that a failing run always ends with an `error:`
# line saying what failed.
#
# Why the last line matters: CI logs are read from the bottom. Every step's output is
# complete (its pipes drained, its children gone) before `step` returns, so nothing a step
# printed can land after that line.

# The project's own Python environment (Debian's system Python stays untouched, PEP 668).
# Override with IMADM_VENV (e.g. to share one between clones).
VENV="$(realpath -m "${IMADM_VENV:-target/venv}")"
# The pin of schemathesis (and only it: pip resolves its dependencies).
CONFORMANCE_REQUIREMENTS="scripts/conformance-requirements.txt"

_lib_reported=0
_lib_cleanups=()

# at_exit CMD...: run CMD when the script exits, before its final `error:` line.
at_exit() { _lib_cleanups+=("$(printf '%q ' "$@")"); }

_lib_cleanup() {
  local c
  for c in "${_lib_cleanups[@]}"; do eval "$c" || true; done
  _lib_cleanups=()
}

_lib_on_exit() {
  local rc=$?
  _lib_cleanup
  # A failure outside any step (set -e) still ends the log with a line saying so.
  if [ "$rc" -ne 0 ] && [ "$_lib_reported" -eq 0 ]; then
    printf 'error: %s failed (exit %d)\n' "${0##*/}" "$rc" >&2
  fi
}
trap _lib_on_exit EXIT

# fail MESSAGE [RC]: clean up, print `error: MESSAGE` as the last line, exit RC (1).
fail() {
  _lib_cleanup
  printf 'error: %s\n' "$1" >&2
  _lib_reported=1
  exit "${2:-1}"
}

# step NAME CMD...: print a header, run CMD with errexit in a subshell, and on failure
# exit with its status after `error: step "NAME" failed (exit N)`.
step() {
  local name=$1 rc
  shift
  printf '\n==> %s\n' "$name"
  # Not `( ... ) || rc=$?`: inside a `||` list bash ignores set -e, also in the subshell.
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || fail "step \"$name\" failed (exit $rc)" "$rc"
}

# pinned_schemathesis: the version pinned in $CONFORMANCE_REQUIREMENTS.
pinned_schemathesis() { sed -n 's/^schemathesis==\([^ ]*\).*/\1/p' "$CONFORMANCE_REQUIREMENTS"; }

# venv_schemathesis: the schemathesis version installed in $VENV (empty if none).
venv_schemathesis() {
  [ -x "$VENV/bin/python" ] || return 0
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true
}
