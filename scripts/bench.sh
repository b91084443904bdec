#!/usr/bin/env bash
# keyless-aws benchmarks: wall time, peak RSS and sizes against instant local stand-ins,
# next to the cost floor (curl doing the same two round trips, /bin/true, and
# `docker run IMAGE --version`), plus time-to-fail. Prints figures; not a pass/fail test.
#
#   scripts/bench.sh                 # full run (~3-4 min): 30 runs per scenario
#   scripts/bench.sh --quick         # 5 runs per scenario, 1 per slow failure (~1 min)
#   scripts/bench.sh --storm         # throttling storm (~1.5 min): 200 jobs at once against an STS
#                                    # that admits 5 calls/s (bench/storm.py); writes docs/benchmarks.md
#   scripts/bench.sh --roles         # `roles` (~1 min): ten roles vs one against an STS taking 0.4 s
#                                    # per call (bench/roles.py); writes docs/benchmarks.md
#   scripts/bench.sh --trust         # check-trust's worst inputs under its caps (bench/trust.py,
#                                    # ~10 s): fails if one takes over 1 s; writes docs/benchmarks.md
#   scripts/bench.sh --profile       # callgrind / dhat / symbol sizes of the OIDC path (~4 min,
#                                    # builds an unstripped copy in target/bench-profile)
#
# Options:
#   --runs N           timed runs per scenario (default 30); --docker-runs N for docker rows
#   --image TAG        image for the docker rows (default $KEYLESS_AWS_IMAGE, else the first of
#                      keyless-aws:test and keyless-aws:local that exists)
#   --build-image      build that image first with scripts/build-image.sh
#   --no-docker        skip the docker rows and image sizes
#   --no-failures      skip the time-to-fail rows
#   --json PATH        also write the figures as JSON (default target/bench/results.json)
#   --binary PATH      measure this binary instead of target/release/keyless-aws (e.g. a variant
#                      built elsewhere); cargo still builds target/release first
#   --also-binary LABEL=PATH  measure another build in the same interleaved loop (rows named
#                      LABEL), to compare a src/ change against target/release on a noisy machine
#   --env KEY=VALUE    extra environment for the action's runs (repeatable), e.g.
#                      SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt: only the CA bundle, as in the image
#
# Everything listens on 127.0.0.1; the stand-in (bench/standin) exits by itself when this
# script ends or after 15 minutes. Docker rows use --network host and the image as built
# locally (no pulls). See docs/benchmarks.md.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

runs=30
docker_runs=""
fail_fast=10
fail_slow=3
image="${KEYLESS_AWS_IMAGE:-}"
build_image=false
profile=false
storm=false
roles=false
trust=false
extra=()
json="$repo/target/bench/results.json"
binary_override=""

while (($#)); do
    case "$1" in
        --runs) runs="$2"; shift ;;
        --docker-runs) docker_runs="$2"; shift ;;
        --quick) runs=5; fail_fast=3; fail_slow=1 ;;
        --image) image="$2"; shift ;;
        --build-image) build_image=true ;;
        --no-docker) extra+=(--no-docker) ;;
        --no-failures) extra+=(--no-failures) ;;
        --json) json="$2"; shift ;;
        --binary) binary_override="$2"; shift ;;
        --env) extra+=(--env "$2"); shift ;;
        --also-binary) extra+=(--also-binary "$2"); shift ;;
        --profile) profile=true ;;
        --storm) storm=true ;;
        --roles) roles=true ;;
        --trust) trust=true ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "bench.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "bench.sh: $*" >&2; }

host="$(rustc -vV | sed -n 's/^host: //p')"

# ---- 1. the release binary, exactly as shipped by `cargo build --release` ----
log "cargo build --release --locked"
cargo build --release --locked >&2
binary="${binary_override:-$repo/target/release/keyless-aws}"

if $storm; then
    exec python3 "$repo/bench/storm.py" --binary "$binary" --write-docs "$repo/docs/benchmarks.md"
fi
if $trust; then
    exec python3 "$repo/bench/trust.py" --binary "$binary" --write-docs "$repo/docs/benchmarks.md"
fi
if $roles; then
    exec python3 "$repo/bench/roles.py" --binary "$binary" --write-docs "$repo/docs/benchmarks.md"
fi

# ---- 2. the stand-ins and rusage-exec (std only, static so rusage-exec runs in scratch) ----
log "building bench/standin (target/bench)"
(
    unset CARGO_ENCODED_RUSTFLAGS
    RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --locked --quiet \
        --manifest-path bench/standin/Cargo.toml --target-dir target/bench --target "$host" >&2
)
tools="$repo/target/bench/$host/release"

if $profile; then
    exec bash "$repo/bench/profile.sh" "$tools/standin"
fi

# ---- 3. the image (optional) ----
if [[ -z "$image" ]]; then
    image=keyless-aws:test
    if ! $build_image && command -v docker >/dev/null \
        && ! docker image inspect keyless-aws:test >/dev/null 2>&1 \
        && docker image inspect keyless-aws:local >/dev/null 2>&1; then
        image=keyless-aws:local
    fi
fi
if $build_image; then
    log "building $image with scripts/build-image.sh"
    KEYLESS_AWS_IMAGE="$image" bash scripts/build-image.sh >&2
fi
if command -v docker >/dev/null && created="$(docker image inspect --format '{{.Created}}' "$image" 2>/dev/null)"; then
    newest_src="$(find src Cargo.toml Cargo.lock -type f -printf '%T@\n' | sort -n | tail -1)"
    if (( $(date -d "$created" +%s) < ${newest_src%.*} )); then
        log "warning: $image ($created) is older than src/; --build-image rebuilds it"
    fi
fi

command -v curl >/dev/null || { log "curl is needed for the floor (apt-get install curl)"; exit 1; }
mkdir -p "$(dirname "$json")"

# ---- 4. measure ----
python3 "$repo/bench/bench.py" \
    --binary "$binary" \
    --standin "$tools/standin" \
    --rusage-exec "$tools/rusage-exec" \
    --image "$image" \
    --runs "$runs" \
    ${docker_runs:+--docker-runs "$docker_runs"} \
    --fail-runs-fast "$fail_fast" \
    --fail-runs-slow "$fail_slow" \
    --json "$json" \
    ${extra[@]+"${extra[@]}"}
