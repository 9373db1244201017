#!/usr/bin/env bash
# Lint and test everything, the way CI does, in named steps: fmt, clippy, all tests under a
# private D-Bus session with an unlocked gnome-keyring (so the keyring tests use a real
# Secret Service without touching yours), the e2e tests again on PostgreSQL (with
# IMADM_TEST_PG), then API conformance. A failing run ends with
# `error: step "..." failed`. Needs what .ci/run installs (it checks and installs them,
# then runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

step "rustfmt" cargo fmt --all --check
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings

# A throw-away HOME keeps gnome-keyring's files (and anything else) out of the real one;
# cargo and rustup keep using the real toolchain and registry cache.
test_home="$(mktemp -d)"
at_exit rm -rf "$test_home"
# keyring_session CMD...: run CMD under a private D-Bus session with an unlocked
# gnome-keyring, in the throw-away HOME (the recipe of every test step).
keyring_session() {
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  export HOME="$test_home" XDG_CONFIG_HOME="$test_home/.config" XDG_DATA_HOME="$test_home/.local/share"
  export IMADM_TEST_KEYRING=1
  # One stream, filtered in a pipeline the step waits for: the D-Bus daemon's harmless
  # "Failed to set fd limit" warning goes, and nothing arrives after the step's end.
  # (A `2> >(grep ...)` process substitution is not waited for, so its output used to
  # land in the middle of later steps.)
  dbus-run-session -- bash -ec '
    printf %s "imadm-ci-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$@"
  ' keyring_session "$@" 2>&1 | { grep --line-buffered -v "Failed to set fd limit" || true; }
}
# With a cluster, the two-instance tests (e2e `database::`, PostgreSQL-only) run in the
# PostgreSQL pass below: not twice.
first_pass=()
if [ -n "${IMADM_TEST_PG:-}" ]; then
  first_pass=(-E 'not (binary(e2e) & test(/^database::/))')
fi
step "tests (cargo nextest)" keyring_session cargo nextest run --workspace --locked --no-fail-fast "${first_pass[@]}"

# The whole e2e suite again, every server on a fresh database of the PostgreSQL cluster
# in IMADM_TEST_PG (.ci/run starts one) instead of SQLite.
pg_e2e() {
  IMADM_TEST_STORE=postgres keyring_session cargo nextest run --test e2e --locked --no-fail-fast
}
if [ -n "${IMADM_TEST_PG:-}" ]; then
  step "e2e tests on PostgreSQL" pg_e2e
elif [ "${IMADM_REQUIRE_PG:-}" = 1 ]; then
  fail 'step "e2e tests on PostgreSQL": IMADM_REQUIRE_PG=1 but IMADM_TEST_PG is not set'
else
  echo "note: IMADM_TEST_PG is not set: e2e tests on PostgreSQL skipped"
fi

# API conformance: schemathesis against Lanying's document and our /openapi.json (about
# 1.5 minutes; uses --insecure-storage, so it needs no keyring).
step "conformance (schemathesis)" bash scripts/conformance.sh
