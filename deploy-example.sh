#!/usr/bin/env bash
# The main job: builds the `cargo migrate` subcommand and runs a full
# stage → backup → apply → verify deploy of examples/shop on its embedded
# SQLite database (examples/shop/data/). Extra arguments go to `deploy`.
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
cargo build --quiet --manifest-path "$root/Cargo.toml" -p cargo-migrate --bin cargo-migrate
cd "$root/examples/shop"
exec "$root/target/debug/cargo-migrate" migrate deploy "$@"
