#!/usr/bin/env bash
# Run a repository's workflows with act, entirely on this machine: the OIDC token from
# `keyless-aws dev-token-server` (shaped like the token GitHub would give each job), every
# AWS service on moto, optionally STS checking your trust policy (`keyless-aws dev-sts`),
# the action as the locally built image. Nothing is pulled; the servers listen on
# 127.0.0.1 only.
#
#   bash scripts/act-local.sh [OPTIONS] [REPO_DIR] [-- ACT ARGS...]
#
#   REPO_DIR        the repository to run (default: the current directory). Run from a
#                   keyless-aws clone without REPO_DIR, it runs the demo
#                   examples/act/workflow.yml instead.
#   -W FILE         only this workflow (path in REPO_DIR; repeatable). Default: every
#                   .github/workflows/*.yml and *.yaml
#   -P IMAGE        the job image for ubuntu-* runners (a local image: nothing is pulled).
#                   Default: catthehacker/ubuntu:act-latest if it is a local image, else
#                   a BusyBox image made here (POSIX `sh` steps only; see the README for
#                   building a fuller image offline)
#   --trust-policy [ROLE_ARN=]FILE
#                   check web-identity calls against this trust policy, as AWS would
#                   (repeatable: one per role ARN; without ROLE_ARN= for every other role)
#   --client-id AUDIENCE
#                   a client id of the (stand-in) OIDC provider; repeatable; default
#                   sts.amazonaws.com. Only with --trust-policy
#   --repo OWNER/REPO, --ref REF
#                   the token's repository and ref (default: from git: the `origin`
#                   remote and the checked-out branch)
#   --action OWNER/NAME@REF
#                   the `uses:` to serve from this clone (default: every `uses:` of
#                   OWNER/keyless-aws@REF in the workflows, else keyless-aws/keyless-aws@v1)
#   ACT ARGS        passed to act unchanged: an event name first (default push; it also
#                   becomes the token's event_name), --secret NAME=VALUE, --var NAME=VALUE,
#                   -j JOB, --secret-file FILE, ...
#
# Each job gets a token shaped from what runs: repository, ref, event, the job's
# `environment`, and job_workflow_ref from the workflow's path. A job without
# `permissions: id-token: write` (on the job or the workflow) gets no token variables,
# as on GitHub, and the script says so. When jobs need different tokens, act runs once
# per job (`-j JOB`; act then also runs the jobs it `needs`).
#
# Environment: KEYLESS_AWS_BINARY (use this static binary instead of building one),
# KEYLESS_AWS_IMAGE (image tag, default keyless-aws:local), BUSYBOX (a static busybox,
# default /bin/busybox), ACT_TIMEOUT (seconds per act run, default 600).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "act-local.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,43p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

repo_dir="" workflows=() job_image="" policies=() client_ids=() token_repo="" token_ref=""
actions=() act_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        -W) [[ $# -ge 2 ]] || die "-W needs a workflow file"; workflows+=("$2"); shift 2 ;;
        -P) [[ $# -ge 2 ]] || die "-P needs an image"; job_image="$2"; shift 2 ;;
        --trust-policy) [[ $# -ge 2 ]] || die "--trust-policy needs [ROLE_ARN=]FILE"; policies+=("$2"); shift 2 ;;
        --client-id) [[ $# -ge 2 ]] || die "--client-id needs an audience"; client_ids+=("$2"); shift 2 ;;
        --repo) [[ $# -ge 2 ]] || die "--repo needs OWNER/REPO"; token_repo="$2"; shift 2 ;;
        --ref) [[ $# -ge 2 ]] || die "--ref needs a ref"; token_ref="$2"; shift 2 ;;
        --action) [[ $# -ge 2 ]] || die "--action needs OWNER/NAME@REF"; actions+=("$2"); shift 2 ;;
        --) shift; act_args=("$@"); break ;;
        -*) die "unknown option $1 (act's own flags go after --); see --help" ;;
        *) [[ -z "$repo_dir" ]] || die "give one REPO_DIR (act's arguments go after --)"; repo_dir="$1"; shift ;;
    esac
done
[[ ${#client_ids[@]} -eq 0 || ${#policies[@]} -gt 0 ]] || die "--client-id only means something with --trust-policy"
for tool in docker act python3 git; do
    command -v "$tool" >/dev/null || die "$tool is missing; run: bash scripts/setup.sh"
done
python3 -c 'import moto.server, yaml' 2>/dev/null || die "moto (with PyYAML) is missing; run: bash scripts/setup.sh"
for p in "${policies[@]}"; do
    file="${p#arn:*=}"
    [[ -f "$file" ]] || die "--trust-policy $p: no file $file"
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/keyless-aws-act-local.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

# ---- the repository ----
demo=0
if [[ -z "$repo_dir" ]]; then
    repo_dir="$PWD"
    [[ "$(cd "$repo_dir" && pwd)" == "$here" && ${#workflows[@]} -eq 0 ]] && demo=1
fi
if [[ $demo -eq 1 ]]; then
    # The demo: examples/act/workflow.yml in a one-commit scratch repository.
    repo_dir="$scratch/repo"
    mkdir -p "$repo_dir/.github/workflows"
    cp "$here/examples/act/workflow.yml" "$repo_dir/.github/workflows/workflow.yml"
    git -C "$repo_dir" init -q -b main
    git -C "$repo_dir" add .
    git -C "$repo_dir" -c user.name=act-local -c user.email=act-local@localhost.invalid \
        -c commit.gpgsign=false commit -q -m "workflow under test"
    token_repo="${token_repo:-acme/app}"
fi
repo_dir="$(cd "$repo_dir" && pwd)" || die "no directory $repo_dir"
if [[ ${#workflows[@]} -eq 0 ]]; then
    while IFS= read -r f; do workflows+=("${f#"$repo_dir"/}"); done \
        < <(find "$repo_dir/.github/workflows" -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
fi
[[ ${#workflows[@]} -gt 0 ]] || die "no workflows in $repo_dir/.github/workflows (or give -W FILE)"
for w in "${workflows[@]}"; do [[ -f "$repo_dir/$w" ]] || die "no workflow $w in $repo_dir"; done
if [[ -z "$token_repo" ]]; then
    origin="$(git -C "$repo_dir" remote get-url origin 2>/dev/null || true)"
    token_repo="$(sed -E 's#^.*[:/]([^/:]+/[^/]+)$#\1#; s#\.git$##' <<<"$origin")"
    [[ "$token_repo" == */* ]] || token_repo="local/$(basename "$repo_dir")"
fi
if [[ -z "$token_ref" ]]; then
    token_ref="$(git -C "$repo_dir" symbolic-ref -q HEAD 2>/dev/null || echo refs/heads/main)"
fi
event="push"
if [[ ${#act_args[@]} -gt 0 && "${act_args[0]}" != -* ]]; then
    event="${act_args[0]}"
    act_args=("${act_args[@]:1}")
fi
# `-j JOB` among act's arguments: only that job (and what it `needs`, as act runs it).
only_job="" rest=()
for ((i = 0; i < ${#act_args[@]}; i++)); do
    case "${act_args[$i]}" in
        -j|--job) only_job="${act_args[$((i + 1))]:-}"; i=$((i + 1)) ;;
        --job=*) only_job="${act_args[$i]#--job=}" ;;
        *) rest+=("${act_args[$i]}") ;;
    esac
done
act_args=("${rest[@]+"${rest[@]}"}")

# ---- the jobs: who gets which token ----
jobs_tsv="$(python3 "$here/scripts/act_jobs.py" "$repo_dir" "${workflows[@]}")" || die "cannot read the workflows"
if [[ -n "$only_job" ]]; then
    jobs_tsv="$(awk -F'\t' -v j="$only_job" '$1 == "uses" || $3 == j' <<<"$jobs_tsv")"
    grep -q '^job' <<<"$jobs_tsv" || die "no job $only_job in ${workflows[*]}"
fi
if [[ ${#actions[@]} -eq 0 ]]; then
    while IFS=$'\t' read -r _ used; do actions+=("$used"); done < <(grep '^uses' <<<"$jobs_tsv" || true)
    [[ ${#actions[@]} -gt 0 ]] || actions=("keyless-aws/keyless-aws@v1")
fi
shapes="$(grep '^job' <<<"$jobs_tsv" | cut -f2,4,5 | sort -u | wc -l)"

# ---- the image, the binary and the job image ----
log "building the image (the first build compiles a release binary: minutes)"
image="$(bash "$here/scripts/build-image.sh" | tail -n 1)"
binary="${KEYLESS_AWS_BINARY:-$here/target/$(rustc -vV | sed -n 's/^host: //p')/release/keyless-aws}"
[[ -x "$binary" ]] || die "no binary at $binary"
if [[ -z "$job_image" ]] && docker image inspect catthehacker/ubuntu:act-latest >/dev/null 2>&1; then
    job_image="catthehacker/ubuntu:act-latest"
fi
if [[ -z "$job_image" ]]; then
    busybox="${BUSYBOX:-/bin/busybox}"
    [[ -x "$busybox" ]] || die "no static busybox at $busybox; run: bash scripts/setup.sh, or give -P IMAGE"
    readelf -d "$busybox" 2>/dev/null | grep -q '(NEEDED)' && die "$busybox is dynamically linked; install busybox-static"
    job_image="keyless-aws-act-job:busybox-$(sha256sum "$busybox" | cut -c1-12)"
    if ! docker image inspect "$job_image" >/dev/null 2>&1; then
        root="$scratch/rootfs"
        mkdir -p "$root/bin" "$root/tmp"
        cp "$busybox" "$root/bin/busybox"
        for applet in $("$busybox" --list); do
            [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
        done
        tar -C "$root" --owner=0 --group=0 -cf "$scratch/rootfs.tar" .
        docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' "$scratch/rootfs.tar" "$job_image" >/dev/null
    fi
    [[ $demo -eq 1 ]] || log "job image: $job_image (BusyBox: POSIX sh steps only; give -P IMAGE for bash, the AWS CLI, ...)"
fi
platforms=()
for label in ubuntu-latest ubuntu-24.04 ubuntu-22.04; do platforms+=(-P "$label=$job_image"); done

# ---- the action, pinned to the local image ----
mkdir -p "$scratch/action" "$scratch/config"
cp "$here/action.yml" "$scratch/action/action.yml"
bash "$here/scripts/pin-image.sh" "$scratch/action/action.yml" "$image"
local_repos=()
for used in "${actions[@]}"; do local_repos+=(--local-repository "$used=$scratch/action"); done

# ---- moto: every AWS service ----
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
moto_port="$(free_port)"
timeout 3600 python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$scratch/moto.log" 2>&1 &
pids+=($!)
moto_pid=$!
for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && break
    kill -0 "$moto_pid" 2>/dev/null || die "moto exited: $(tail -n 20 "$scratch/moto.log")"
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null || die "moto did not start on 127.0.0.1:$moto_port"
moto="http://127.0.0.1:$moto_port"
log "moto on $moto (every AWS service: AWS_ENDPOINT_URL)"

# Starts `keyless-aws ARGS...` in the background; waits for N `--env` lines on its stdout.
start_server() {
    local name="$1" lines="$2"
    shift 2
    "$binary" "$@" >"$scratch/$name.out" 2>"$scratch/$name.log" &
    pids+=($!)
    local pid=$!
    for _ in $(seq 1 300); do
        [[ "$(grep -c '^--env ' "$scratch/$name.out" 2>/dev/null)" == "$lines" ]] && return 0
        kill -0 "$pid" 2>/dev/null || die "$name exited: $(cat "$scratch/$name.log")"
        sleep 0.1
    done
    die "$name printed no --env lines"
}

# One act run: $1 workflow, $2 job ("" for all), $3 id-token yes/no, $4 environment.
run_act() {
    local workflow="$1" job="$2" id_token="$3" environment="$4" n="$5"
    local env_flags=(--env "AWS_ENDPOINT_URL=$moto" --env "AWS_ENDPOINT_URL_STS=$moto")
    local what="${job:-every job} of $workflow"
    if [[ "$id_token" == yes ]]; then
        local token_flags=(dev-token-server --listen 127.0.0.1:0 --max-seconds 3600
            --repo "$token_repo" --ref "$token_ref" --event "$event" --workflow "$workflow")
        [[ "$environment" == - ]] || token_flags+=(--environment "$environment")
        [[ ${#policies[@]} -eq 0 ]] || token_flags+=(--issuer https://token.actions.githubusercontent.com)
        start_server "token-$n" 2 "${token_flags[@]}"
        while read -r flag value; do env_flags+=("$flag" "$value"); done < <(grep '^--env ' "$scratch/token-$n.out")
        local shape="repository $token_repo, ref $token_ref, event $event, workflow $workflow"
        [[ "$environment" == - ]] || shape+=", environment $environment"
        log "$what: OIDC token with $shape"
        if [[ ${#policies[@]} -gt 0 ]]; then
            local token_addr sts_flags=(dev-sts --forward "$moto" --max-seconds 3600)
            token_addr="$(sed -n 's/^listening on //p' "$scratch/token-$n.out")"
            sts_flags+=(--jwks-url "http://$token_addr/.well-known/jwks")
            for p in "${policies[@]}"; do sts_flags+=(--trust-policy "$p"); done
            for c in "${client_ids[@]}"; do sts_flags+=(--client-id "$c"); done
            start_server "sts-$n" 1 "${sts_flags[@]}"
            env_flags+=(--env "$(sed -n 's/^--env //p' "$scratch/sts-$n.out")")
            log "$what: STS is dev-sts (trust policies checked as AWS does; moto behind it)"
        fi
    else
        log "$what: no \`permissions: id-token: write\` (on the job or the workflow), so GitHub would give it no OIDC token; this run withholds ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN too. If the job assumes a role with its token, add \`permissions: id-token: write\`."
    fi
    local job_flags=()
    [[ -z "$job" ]] || job_flags=(-j "$job")
    log "act $event -W $workflow ${job:+-j $job} (the request token is not shown)"
    local status=0
    (
        cd "$repo_dir"
        ACT_DISABLE_VERSION_CHECK=1 XDG_CONFIG_HOME="$scratch/config" timeout "${ACT_TIMEOUT:-600}" act "$event" \
            --workflows "$workflow" "${job_flags[@]}" "${platforms[@]}" \
            --pull=false --rebuild=false --action-offline-mode --no-cache-server \
            --container-daemon-socket - --rm \
            --action-cache-path "$scratch/act-cache" \
            --defaultbranch main \
            "${local_repos[@]}" "${env_flags[@]}" "${act_args[@]+"${act_args[@]}"}"
    ) || status=$?
    if [[ -f "$scratch/token-$n.log" ]]; then
        log "token requests:"
        grep ' -> ' "$scratch/token-$n.log" | sed 's/^/    /' >&2 || true
    fi
    if [[ -f "$scratch/sts-$n.log" ]] && grep -q -- '-> [A-Z]' "$scratch/sts-$n.log"; then
        log "dev-sts refused (what AWS would refuse, and why):"
        grep -v '^dev-sts: provider' "$scratch/sts-$n.log" | sed 's/^/    /' >&2 || true
    fi
    return $status
}

failed=0 n=0
if [[ "$(grep '^job' <<<"$jobs_tsv" | cut -f2 | sort -u | wc -l)" -eq 1 && "$shapes" -eq 1 ]]; then
    IFS=$'\t' read -r _ workflow _ id_token environment < <(grep '^job' <<<"$jobs_tsv" | head -n 1)
    run_act "$workflow" "$only_job" "$id_token" "$environment" 0 || failed=1
else
    while IFS=$'\t' read -r _ workflow job id_token environment; do
        n=$((n + 1))
        run_act "$workflow" "$job" "$id_token" "$environment" "$n" || failed=1
    done < <(grep '^job' <<<"$jobs_tsv")
fi
[[ $failed -eq 0 ]] || die "act failed (see above)"
log "act run succeeded"
