#!/usr/bin/env bash
# Runs the action end to end on this machine, no AWS account needed: a stand-in
# for GitHub's OIDC token endpoint and moto's STS emulator on 127.0.0.1, the
# binary run as a step, then a "later step" that uses the exported credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --locked --quiet
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 & pids+=($!)
python3 scripts/token_endpoint.py --host 127.0.0.1 --port-file "$work/token.port" --log "$work/token.log" --token demo-request-token --max-seconds 120 >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 100); do
  [ -s "$work/token.port" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1',$moto_port),1)" 2>/dev/null && break
  sleep 0.2
done
touch "$work/env" "$work/output" "$work/summary" "$work/state"
echo "== the action step"
env -i PATH="$PATH" HOME="$work" GITHUB_ACTIONS=true \
  GITHUB_ENV="$work/env" GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" GITHUB_STATE="$work/state" \
  ACTIONS_ID_TOKEN_REQUEST_URL="http://127.0.0.1:$(cat "$work/token.port")/_apis/token?api-version=2.0" \
  ACTIONS_ID_TOKEN_REQUEST_TOKEN=demo-request-token \
  "INPUT_ROLE-TO-ASSUME=arn:aws:iam::123456789012:role/deploy" "INPUT_AWS-REGION=eu-west-1" \
  "INPUT_ROLE-SESSION-NAME=demo" "INPUT_AUDIENCE=sts.amazonaws.com" "INPUT_ROLE-DURATION-SECONDS=3600" \
  "INPUT_STS-ENDPOINT=http://127.0.0.1:$moto_port" \
  target/debug/keyless-aws
echo "== exported to GITHUB_ENV: $(grep -o '^[A-Z_]*<<' "$work/env" | tr -d '<' | tr '\n' ' ')"
echo "== outputs:"; grep -v '^ghadelimiter_' "$work/output" | paste - - | sed 's/<<[^\t]*\t/ = /'
echo "== a later step signs with the exported credentials:"
python3 - "$work/env" "$moto_port" <<'PY'
import sys, boto3
lines = open(sys.argv[1]).read().split("\n")
env, i = {}, 0
while i < len(lines) and lines[i]:
    name, delim = lines[i].split("<<"); env[name] = lines[i + 1]; i += 3
sts = boto3.client("sts", endpoint_url=f"http://127.0.0.1:{sys.argv[2]}", region_name=env["AWS_REGION"],
                   aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                   aws_session_token=env["AWS_SESSION_TOKEN"])
print("   GetCallerIdentity:", sts.get_caller_identity()["Arn"])
PY
