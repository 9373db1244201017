#!/usr/bin/env python3
"""The minimum Rust, checked three ways against the workspace's `rust-version`:

1. no package in Cargo.lock (as resolved for this platform) declares a newer
   `rust-version`: otherwise the stated minimum is false and `cargo build --locked` fails
   on it;
2. README.md states that same minimum ("Rust (1.89+)");
3. the rustc on PATH is at least that version (before minutes of building).

Reads `cargo metadata --locked` (no resolution, no build; it downloads crate manifests
only if they are not cached yet, as any build would). Exits 1 with what is wrong and how
to fix it. Run by .ci/run; also by hand: python3 scripts/check-rust-version.py
"""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def version(text):
    """'1.89' or '1.89.0' -> (1, 89, 0), for comparisons."""
    parts = [int(p) for p in re.match(r"\d+(?:\.\d+)*", text).group(0).split(".")]
    return tuple((parts + [0, 0])[:3])


def show(v):
    return ".".join(str(p) for p in v[:2]) if v[2] == 0 else ".".join(map(str, v))


def run(*argv):
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        sys.exit(f"error: {' '.join(argv)} failed (exit {done.returncode})")
    return done.stdout


def main():
    rustc = run("rustc", "-vV")
    host = re.search(r"^host: (\S+)", rustc, re.M).group(1)
    installed = version(re.search(r"^release: (\S+)", rustc, re.M).group(1))
    meta = json.loads(
        run("cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", host)
    )
    packages = {p["id"]: p for p in meta["packages"]}
    members = [packages[i] for i in meta["workspace_members"]]
    declared = {version(p["rust_version"]) for p in members if p.get("rust_version")}
    if len(declared) != 1 or len(members) != len([p for p in members if p.get("rust_version")]):
        print("error: every workspace member must inherit one rust-version from [workspace.package]",
              file=sys.stderr)
        return 1
    (minimum,) = declared

    errors = []
    in_lock = [packages[n["id"]] for n in meta["resolve"]["nodes"]]
    newer = sorted(
        ((version(p["rust_version"]), p["name"], p["version"]) for p in in_lock
         if p.get("rust_version") and version(p["rust_version"]) > minimum),
        reverse=True,
    )
    if newer:
        needed = newer[0][0]
        listed = ", ".join(f"{name} {ver} ({show(v)})" for v, name, ver in newer)
        errors.append(
            f"Cargo.lock needs Rust {show(needed)} but rust-version says {show(minimum)}: {listed}\n"
            f"  fix: set rust-version = \"{show(needed)}\" in Cargo.toml's [workspace.package] "
            f"and \"Rust ({show(needed)}+)\" in README.md (or lock older versions of those crates)"
        )

    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    stated = {version(v) for v in re.findall(r"Rust \((\d+\.\d+(?:\.\d+)?)\+\)", readme)}
    if stated != {minimum}:
        errors.append(
            f"README.md must state the minimum Rust as \"Rust ({show(minimum)}+)\" "
            f"(found: {', '.join(sorted(show(v) for v in stated)) or 'none'})"
        )

    if installed < minimum:
        errors.append(
            f"rustc {show(installed)} is older than the minimum Rust {show(minimum)}\n"
            f"  fix: rustup update stable"
        )

    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not errors:
        print(f"Rust: rust-version {show(minimum)} covers all {len(in_lock)} locked packages "
              f"for {host}; rustc {show(installed)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
