#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz + libFuzzer) for a fixed number of
# runs each, and fails on any crash, panic, timeout or out-of-memory.
#
#   bash scripts/fuzz.sh [RUNS] [TARGET...]
#
#   RUNS     runs per target (default 100000: about a minute for all six targets on
#            2 cores, after a build of about 1.5 minutes)
#   TARGET   inputs, jwt, workflow, explain, trust, roles (default: all)
#
# Environment:
#   FUZZ_SANITIZER=none|address   default none. The fuzzed code is safe Rust, so what
#                                 is looked for is panics and broken invariants; ASan
#                                 needs `-Zsanitizer`, which this script enables on a
#                                 stable toolchain with RUSTC_BOOTSTRAP=1.
#   FUZZ_MAX_SECONDS=N            time cap per target (default 60, about 4x what 100000
#                                 runs take); a target that hits it stops early and the
#                                 runs it did are reported.
#   FUZZ_JOBS=N                   targets run at once (default 1).
#
# Longer runs, e.g. overnight or before a release (the corpus in fuzz/corpus/TARGET
# grows across runs and is reused):
#   bash scripts/fuzz.sh 10000000
#   FUZZ_MAX_SECONDS=3600 bash scripts/fuzz.sh 100000000 inputs
#   cargo fuzz run --sanitizer none --codegen-units 16 inputs -- -max_total_time=3600
# A crash leaves its input in fuzz/artifacts/TARGET/; replay it with
#   cargo fuzz run --sanitizer none --codegen-units 16 TARGET fuzz/artifacts/TARGET/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-100000}"
[[ "$runs" =~ ^[0-9]+$ ]] || { echo "usage: $0 [RUNS] [TARGET...]" >&2; exit 2; }
shift || true
all_targets=(inputs jwt workflow explain trust roles)
if (($#)); then targets=("$@"); else targets=("${all_targets[@]}"); fi
sanitizer="${FUZZ_SANITIZER:-none}"
max_seconds="${FUZZ_MAX_SECONDS:-60}"
jobs="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked --version '^0.13'
fi
if [[ "$sanitizer" != none ]]; then
    # libFuzzer itself works on stable; sanitizers need the unstable -Z flags.
    export RUSTC_BOOTSTRAP=1
fi
# One codegen unit per crate (cargo-fuzz's release default) makes the AWS SDK take
# several minutes to build on 2 cores; 16 brings the whole build to about 1.5.
flags=(--sanitizer "$sanitizer" --codegen-units 16)
# Each sanitizer keeps its own build, so switching does not rebuild the other.
[[ "$sanitizer" != none ]] && flags+=(--target-dir "fuzz/target/$sanitizer")

# fuzz/ has its own Cargo.lock; a stale one would be rewritten by the build. Fail
# instead, so a test run never changes a tracked file.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null \
    || { echo "fuzz: fuzz/Cargo.lock is stale: run 'cargo metadata --manifest-path fuzz/Cargo.toml --format-version 1 >/dev/null' and commit it" >&2; exit 1; }

start=$(date +%s)
# Builds every target at once: one dependency build, one link per target.
cargo fuzz build "${flags[@]}" >&2
echo "fuzz: built in $(( $(date +%s) - start )) s" >&2

logs=fuzz/target/logs
mkdir -p "$logs"

run_target() {
    local t="$1" log="$logs/$1.log"
    mkdir -p "fuzz/corpus/$t"
    local status=0
    # trust and roles are the inputs whose cost was super-linear (issue 22.4):
    # each input gets 2 s, so a slow evaluation fails as a timeout.
    local timeout=10
    case "$t" in trust|roles) timeout=2 ;; esac
    cargo fuzz run "${flags[@]}" "$t" -- \
        -runs="$runs" -max_total_time="$max_seconds" -timeout="$timeout" -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
    echo "$status" >"$log.status"
}

pids=()
for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in *" $t "*) ;; *) echo "fuzz: unknown target $t" >&2; exit 2 ;; esac
    run_target "$t" &
    pids+=($!)
    while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
done
for pid in "${pids[@]}"; do wait "$pid" || true; done

passed=0 failed=0 total_runs=0
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    status=$(cat "$log.status" 2>/dev/null || echo 1)
    done_line=$(grep -E '^Done [0-9]+ runs in' "$log" | tail -1 || true)
    done_runs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/' <<<"$done_line")
    secs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/' <<<"$done_line")
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    if [[ "$status" == 0 && -n "$done_line" ]]; then
        passed=$((passed + 1))
        total_runs=$((total_runs + done_runs))
        note=""
        (( done_runs < runs )) && note=" (stopped by the ${max_seconds} s cap)"
        echo "fuzz: $t: $done_runs runs in ${secs} s, no crash, corpus $corpus inputs$note"
    else
        failed=$((failed + 1))
        echo "fuzz: $t: FAILED (exit $status); from $log:"
        # The panic (or libFuzzer's own report) and the saved input, without backtraces.
        grep -E -A4 "panicked at|ERROR: libFuzzer|SUMMARY" "$log" | grep -v -E '^ +([0-9]+: |at )' | head -30 | sed 's/^/    /'
        grep -E -A3 "Test unit written to|Reproduce with" "$log" | head -12 | sed 's/^/    /'
    fi
done
echo "fuzz: ${#targets[@]} targets, $total_runs runs in all, sanitizer $sanitizer, $(( $(date +%s) - start )) s"
echo "fuzz: $passed passed, $failed failed"
(( failed == 0 ))
