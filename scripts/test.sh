#!/usr/bin/env bash
# Lint and test everything, the way CI does: fmt, clippy, then all tests under a private
# D-Bus session with an unlocked gnome-keyring, so the keyring tests use a real Secret
# Service without touching yours. Needs the packages .ci/run installs.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# A throw-away HOME keeps gnome-keyring's files (and anything else) out of the real one;
# cargo and rustup keep using the real toolchain and registry cache.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
real_home="$HOME"
test_home="$(mktemp -d)"
trap 'rm -rf "$test_home"' EXIT
export HOME="$test_home" XDG_CONFIG_HOME="$test_home/.config" XDG_DATA_HOME="$test_home/.local/share"
export IMADM_TEST_KEYRING=1

dbus-run-session -- bash -ec '
  printf %s "imadm-ci-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo nextest run --workspace --locked --no-fail-fast
' 2> >(grep -v "Failed to set fd limit" >&2)

# API conformance: schemathesis against Lanying's document and our /openapi.json (about
# 1.5 minutes; uses --insecure-storage, so it needs no keyring).
HOME="$real_home" bash scripts/conformance.sh
