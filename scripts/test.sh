#!/usr/bin/env bash
# The whole test suite, exactly what CI runs: formatting, lints, unit and
# integration tests (mocks, moto, the container image under Docker, act), the
# leak test, fuzzing for a fixed number of runs, and cargo-deny.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# The container and act tests need the static release binary and the image;
# they build them once through scripts/build-image.sh.
cargo test --locked --all-targets -- --test-threads 2
[ -f scripts/fuzz.sh ] && bash scripts/fuzz.sh
[ -f scripts/deny.sh ] && bash scripts/deny.sh
echo "test.sh: all checks passed"
