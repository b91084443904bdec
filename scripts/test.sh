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
# --include-ignored: tests marked #[ignore = "needs …: run by scripts/test.sh"] (e.g. the
# README's act recipe, tests/readme_act.rs) are too slow or heavy for a plain `cargo test`.
cargo test --locked --all-targets -- --include-ignored --test-threads 2
[ -f scripts/fuzz.sh ] && bash scripts/fuzz.sh
[ -f scripts/deny.sh ] && bash scripts/deny.sh
echo "test.sh: all checks passed"
