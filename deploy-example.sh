#!/usr/bin/env bash
# The main job: builds the `cargo migrate` subcommand and runs a full
# stage → backup → apply → verify deploy of examples/shop on its embedded
# SQLite database (examples/shop/data/). Extra arguments go to `deploy`.
# `cargo run` finds the binary wherever the target folder is
# (CARGO_TARGET_DIR, build.target-dir) and shows cargo's build progress.
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
cd "$root/examples/shop"
exec cargo run --manifest-path "$root/Cargo.toml" -p cargo-migrate --bin cargo-migrate -- migrate deploy "$@"
