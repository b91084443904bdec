#!/usr/bin/env bash
# Run a workflow that uses keyless-aws with act, entirely on this machine: the OIDC
# token from `keyless-aws dev-token-server`, STS from moto, the action as the locally
# built image. Nothing is pulled; the servers listen on 127.0.0.1 only.
#
#   bash scripts/act-local.sh [WORKFLOW] [-- DEV-TOKEN-SERVER FLAGS...]
#
#   WORKFLOW   default examples/act/workflow.yml. It must use
#              `uses: keyless-aws/keyless-aws@v1` and `runs-on: ubuntu-latest`, and
#              its run steps must work in BusyBox `sh` (the job image; see below).
#   FLAGS      passed to dev-token-server to shape the token, e.g.
#              -- --repo acme/app --environment production (see its --help)
#
# Environment: KEYLESS_AWS_BINARY (use this static binary instead of building one),
# KEYLESS_AWS_IMAGE (image tag, default keyless-aws:local), BUSYBOX (a static busybox,
# default /bin/busybox), ACT_TIMEOUT (seconds, default 600).
#
# Steps (each printed on stderr):
#   1. scripts/build-image.sh: a static release binary and the FROM-scratch image;
#   2. the job image: the host's static busybox, imported with `docker import`;
#   3. a copy of action.yml pinned to the local image (scripts/pin-image.sh), which
#      act's --local-repository serves as keyless-aws/keyless-aws@v1;
#   4. moto on 127.0.0.1:<free port>, and the dev token server on 127.0.0.1:0;
#   5. act, with the --env lines the token server printed and AWS_ENDPOINT_URL_STS.
# act's default `--network host` puts the job and the action's container in the host's
# network namespace, so both reach 127.0.0.1 (Linux Docker; with Docker Desktop see
# the README).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "act-local.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

workflow="$repo/examples/act/workflow.yml"
server_flags=()
if [[ $# -gt 0 && "$1" != "--" ]]; then
    case "$1" in
        -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}" >&2; exit 0 ;;
    esac
    workflow="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    shift
fi
if [[ $# -gt 0 ]]; then
    [[ "$1" == "--" ]] || die "unexpected argument $1; usage: act-local.sh [WORKFLOW] [-- DEV-TOKEN-SERVER FLAGS...]"
    shift
    server_flags=("$@")
fi
[[ -f "$workflow" ]] || die "no workflow file at $workflow"
for tool in docker act python3 git; do
    command -v "$tool" >/dev/null || die "$tool is missing; run: bash scripts/setup.sh"
done
python3 -c 'import moto.server' 2>/dev/null || die "moto is missing; run: bash scripts/setup.sh"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/keyless-aws-act-local.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

# ---- 1. the image and the binary ----
log "1/5 building the image (the first build compiles a release binary: minutes)"
image="$(bash "$repo/scripts/build-image.sh" | tail -n 1)"
if [[ -n "${KEYLESS_AWS_BINARY:-}" ]]; then
    binary="$KEYLESS_AWS_BINARY"
else
    binary="$repo/target/$(rustc -vV | sed -n 's/^host: //p')/release/keyless-aws"
fi
[[ -x "$binary" ]] || die "no binary at $binary"

# ---- 2. the job image ----
busybox="${BUSYBOX:-/bin/busybox}"
[[ -x "$busybox" ]] || die "no static busybox at $busybox; run: bash scripts/setup.sh"
if readelf -d "$busybox" 2>/dev/null | grep -q '(NEEDED)'; then
    die "$busybox is dynamically linked; install busybox-static"
fi
job_image="keyless-aws-act-job:busybox-$(sha256sum "$busybox" | cut -c1-12)"
if ! docker image inspect "$job_image" >/dev/null 2>&1; then
    log "2/5 making the job image $job_image from $busybox"
    root="$scratch/rootfs"
    mkdir -p "$root/bin" "$root/tmp"
    cp "$busybox" "$root/bin/busybox"
    for applet in $("$busybox" --list); do
        [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
    done
    tar -C "$root" --owner=0 --group=0 -cf "$scratch/rootfs.tar" .
    docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' "$scratch/rootfs.tar" "$job_image" >/dev/null
else
    log "2/5 job image $job_image (exists)"
fi

# ---- 3. the action, pinned to the local image ----
log "3/5 action.yml pinned to $image"
mkdir -p "$scratch/action" "$scratch/repo/.github/workflows" "$scratch/config"
cp "$repo/action.yml" "$scratch/action/action.yml"
bash "$repo/scripts/pin-image.sh" "$scratch/action/action.yml" "$image"
cp "$workflow" "$scratch/repo/.github/workflows/$(basename "$workflow")"
# A one-commit repository, so act finds a ref and a sha (and says nothing about git).
git -C "$scratch/repo" init -q -b main
git -C "$scratch/repo" add .
git -C "$scratch/repo" -c user.name=act-local -c user.email=act-local@localhost.invalid \
    -c commit.gpgsign=false commit -q -m "workflow under test"

# ---- 4. moto and the dev token server, on 127.0.0.1, bounded in time ----
moto_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
timeout 1800 python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$scratch/moto.log" 2>&1 &
pids+=($!)
"$binary" dev-token-server --listen 127.0.0.1:0 --max-seconds 1800 "${server_flags[@]}" \
    >"$scratch/token.out" 2>"$scratch/token.log" &
pids+=($!)
for _ in $(seq 1 300); do
    [[ "$(grep -c '^--env ' "$scratch/token.out" 2>/dev/null)" == 2 ]] && break
    kill -0 "${pids[1]}" 2>/dev/null || die "dev-token-server exited: $(cat "$scratch/token.log")"
    sleep 0.1
done
[[ "$(grep -c '^--env ' "$scratch/token.out")" == 2 ]] || die "dev-token-server printed no --env lines"
for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && break
    kill -0 "${pids[0]}" 2>/dev/null || die "moto exited: $(tail -n 20 "$scratch/moto.log")"
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null || die "moto did not start on 127.0.0.1:$moto_port"
log "4/5 moto on 127.0.0.1:$moto_port; $(head -n 1 "$scratch/token.out" | sed 's/^/dev-token-server /')"
env_flags=()
while read -r flag value; do
    env_flags+=("$flag" "$value")
done < <(grep '^--env ' "$scratch/token.out")

# ---- 5. act ----
log "5/5 act push --workflows $(basename "$workflow") (the request token is not shown)"
status=0
(
    cd "$scratch/repo"
    ACT_DISABLE_VERSION_CHECK=1 XDG_CONFIG_HOME="$scratch/config" timeout "${ACT_TIMEOUT:-600}" act push \
        --workflows ".github/workflows/$(basename "$workflow")" \
        -P "ubuntu-latest=$job_image" \
        --pull=false --rebuild=false --action-offline-mode --no-cache-server \
        --bind --container-daemon-socket - --rm \
        --action-cache-path "$scratch/act-cache" \
        --defaultbranch main \
        --local-repository "keyless-aws/keyless-aws@v1=$scratch/action" \
        "${env_flags[@]}" \
        --env "AWS_ENDPOINT_URL_STS=http://127.0.0.1:$moto_port"
) || status=$?
log "token requests:"
grep ' -> ' "$scratch/token.log" | sed 's/^/    /' >&2 || true
if [[ $status -ne 0 ]]; then
    die "act failed (exit $status)"
fi
log "act run succeeded"
