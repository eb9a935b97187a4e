#!/usr/bin/env sh
# Installs the peers the benchmarks compare against, sqlx-cli and
# refinery_cli, from crates.io into target/bench-tools (not on your PATH).
# A failed install is reported and skipped: `migrate-bench` then prints a note
# and leaves that column out. Compiling both takes a while; JOBS (default 1)
# caps the parallel jobs so a shared machine stays usable.
#
#   sh migrate-bench/setup.sh          # both
#   sh migrate-bench/setup.sh sqlx     # only sqlx-cli
set -u
root="$(cd "$(dirname "$0")/.." && pwd)/target/bench-tools"
jobs="${JOBS:-1}"
mkdir -p "$root"
want="${1:-all}"
status=0

install() {
    name="$1"; shift
    echo "==> installing $name into $root"
    if CARGO_BUILD_JOBS="$jobs" cargo install --locked --root "$root" "$@"; then
        echo "==> $name installed: $root/bin"
    else
        echo "==> $name could not be installed; its benchmark column will be skipped" >&2
        status=1
    fi
}

if [ "$want" = all ] || [ "$want" = sqlx ]; then
    # Only the three drivers; no TLS (the servers are local) and no completions.
    install sqlx-cli sqlx-cli --no-default-features --features postgres,mysql,sqlite
fi
if [ "$want" = all ] || [ "$want" = refinery ]; then
    install refinery_cli refinery_cli --no-default-features --features postgresql,mysql,sqlite-bundled
fi
exit $status
