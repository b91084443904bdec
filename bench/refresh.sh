#!/usr/bin/env bash
# Benchmarks the refresh helper (`keyless-aws credential-process`): a cache hit
# next to `cat` of the same file, a refresh next to the one-shot action's own
# exchange, against bench/standin on 127.0.0.1. Writes the figures into
# docs/benchmarks.md (section between the refresh-bench markers).
#
#   bench/refresh.sh               # ~1 min after the builds; 300 runs for the cache hit
#   bench/refresh.sh --runs 100    # quicker
#   bench/refresh.sh --no-write    # print the section only
#
# Needs hyperfine (apt-get install hyperfine) and python3.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
host="$(rustc -vV | sed -n 's/^host: //p')"
echo "refresh.sh: cargo build --release --locked" >&2
cargo build --release --locked >&2
echo "refresh.sh: building bench/standin (target/bench)" >&2
(
    unset CARGO_ENCODED_RUSTFLAGS
    RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --locked --quiet \
        --manifest-path bench/standin/Cargo.toml --target-dir target/bench --target "$host" >&2
)
command -v hyperfine >/dev/null || { echo "refresh.sh: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
exec python3 bench/refresh.py \
    --binary "$repo/target/release/keyless-aws" \
    --standin "$repo/target/bench/$host/release/standin" "$@"
