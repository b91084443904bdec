#!/usr/bin/env bash
# Build the keyless-aws container image from a locally built static binary, without
# pulling any image, and print the image tag as the last line of stdout.
#
#   bash scripts/build-image.sh              # build (or reuse) the binary, build the image
#   bash scripts/build-image.sh --size       # ... and report the image size on stderr
#
# Environment:
#   KEYLESS_AWS_IMAGE   tag to build (default keyless-aws:local)
#   KEYLESS_AWS_BINARY  use this static binary instead of running cargo
#   CA_BUNDLE           CA bundle to put in the image (default /etc/ssl/certs/ca-certificates.crt)
#   DOCKER_BUILD_CLI    docker CLI to build with (default: the first one that can use BuildKit)
#
# The binary is a glibc static-pie (`-C target-feature=+crt-static`), which is all this
# machine's toolchain can make. That is fine for the tests, whose endpoints are IP
# literals; the published image is built from source against musl (see Dockerfile).
#
# Everything but the tag goes to stderr.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${KEYLESS_AWS_IMAGE:-keyless-aws:local}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
context="$repo/.stage/image"
report_size=false

for arg in "$@"; do
    case "$arg" in
        --size) report_size=true ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
        *) echo "build-image.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "build-image.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Two test binaries (or a developer and a test) may run this at the same time.
mkdir -p "$repo/.stage"
exec 9>"$repo/.stage/image.lock"
flock 9

# ---- 1. the static binary ----
if [[ -n "${KEYLESS_AWS_BINARY:-}" ]]; then
    binary="$KEYLESS_AWS_BINARY"
else
    host="$(rustc -vV | sed -n 's/^host: //p')"
    [[ -n "$host" ]] || die "cannot tell the host target from 'rustc -vV'"
    log "cargo build --release --locked --target $host (crt-static)"
    # Append to RUSTFLAGS rather than using target.<triple>.rustflags: a RUSTFLAGS set by
    # CI (e.g. -D warnings) would silently override the latter and give a dynamic binary.
    (
        cd "$repo"
        unset CARGO_ENCODED_RUSTFLAGS
        # Run from a test, the environment holds the variables cargo sets for the test
        # (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, ...). ring's build script reruns when they
        # change, so alternating test and shell runs would rebuild it and all above it.
        unset OUT_DIR CARGO_MANIFEST_DIR CARGO_MANIFEST_PATH CARGO_MANIFEST_LINKS CARGO_CRATE_NAME CARGO_PRIMARY_PACKAGE
        unset $(compgen -e | grep '^CARGO_PKG_' || true)
        export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
        cargo build --release --locked --target "$host" >&2
    )
    binary="$repo/target/$host/release/keyless-aws"
fi
[[ -x "$binary" ]] || die "no executable binary at $binary"
if command -v readelf >/dev/null 2>&1; then
    if readelf -d "$binary" | grep -q '(NEEDED)'; then
        die "$binary is dynamically linked; a FROM scratch image needs a static binary"
    fi
else
    log "warning: readelf not found, cannot check that $binary is static"
fi

# ---- 2. the build context, laid out like the image (see Dockerfile) ----
# /keyless-aws, /keyless-aws-post -> keyless-aws (action.yml's post-entrypoint), and
# /etc/ssl/certs/ca-certificates.crt. Nothing else.
[[ -s "$ca_bundle" ]] || die "no CA bundle at $ca_bundle"
rm -rf "$context"
mkdir -p "$context/etc/ssl/certs"
cp "$binary" "$context/keyless-aws"
chmod 0755 "$context/keyless-aws"
ln -s keyless-aws "$context/keyless-aws-post"
cp -L "$ca_bundle" "$context/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$context/etc/ssl/certs/ca-certificates.crt"
chmod 0755 "$context" "$context/etc" "$context/etc/ssl" "$context/etc/ssl/certs"

# ---- 3. a docker CLI that builds with BuildKit ----
# BuildKit is needed so that the rust stage, which would be pulled, is skipped. A CLI
# from Docker 23 on needs the buildx plugin for that; older CLIs have it built in
# (DOCKER_BUILDKIT=1). Machines here ship Docker's CLI 28 without buildx at
# /usr/local/bin/docker and Debian's CLI 20.10 at /usr/bin/docker.
pick_cli() {
    local cli version major
    for cli in ${DOCKER_BUILD_CLI:-} docker /usr/bin/docker /usr/local/bin/docker; do
        command -v "$cli" >/dev/null 2>&1 || continue
        if "$cli" buildx version >/dev/null 2>&1; then
            echo "$cli"
            return 0
        fi
        version="$("$cli" version --format '{{.Client.Version}}' 2>/dev/null || true)"
        major="${version%%.*}"
        if [[ "$major" =~ ^[0-9]+$ ]] && ((major < 23)); then
            echo "$cli"
            return 0
        fi
    done
    return 1
}
cli="$(pick_cli)" || die "no docker CLI here can build with BuildKit (install the buildx plugin)"

# ---- 4. build ----
log "building $tag with $cli (BINARY_SOURCE=prebuilt, context $context)"
previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
DOCKER_BUILDKIT=1 "$cli" build \
    --build-arg BINARY_SOURCE=prebuilt \
    --file "$repo/Dockerfile" \
    --tag "$tag" \
    "$context" >&2
# Each new binary leaves the previous image untagged; drop it unless something uses it.
current="$(docker image inspect --format '{{.Id}}' "$tag")"
if [[ -n "$previous" && "$previous" != "$current" ]]; then
    docker image rm "$previous" >/dev/null 2>&1 || true
fi

if $report_size; then
    bytes="$(docker image inspect --format '{{.Size}}' "$tag")"
    gz="$(docker save "$tag" | gzip -c | wc -c)"
    bin_bytes="$(stat -c %s "$context/keyless-aws")"
    ca_bytes="$(stat -c %s "$context/etc/ssl/certs/ca-certificates.crt")"
    log "size: image ${bytes} B uncompressed, docker save | gzip ${gz} B; binary ${bin_bytes} B, CA bundle ${ca_bytes} B"
fi

echo "$tag"
