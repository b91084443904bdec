#!/usr/bin/env bash
# Point a Docker action's action.yml at a ready-made image instead of its Dockerfile.
#
#   bash scripts/pin-image.sh ACTION_YML IMAGE_REF
#
# IMAGE_REF is an image reference with or without the docker:// prefix, e.g.
#   ghcr.io/OWNER/REPO@sha256:<digest>    (release workflow: pinned by digest)
#   keyless-aws:local                     (act test: the locally built image)
#
# The file is edited in place: the one `image:` line under `runs:` gets the value
# 'docker://IMAGE_REF', and nothing else changes. It fails unless the file declares
# `using: docker` and has exactly one `image:` line under `runs:`.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 ACTION_YML IMAGE_REF" >&2
    exit 2
fi
action_yml="$1"
ref="${2#docker://}"

die() { echo "pin-image.sh: error: $*" >&2; exit 1; }

[[ -f "$action_yml" ]] || die "no file $action_yml"
# A reference is [registry/]name[:tag][@sha256:hex]; refuse anything that could break
# the YAML quoting or smuggle in more text.
[[ "$ref" =~ ^[a-z0-9][A-Za-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$ ]] \
    || die "not an image reference: $ref"

tmp="$(mktemp "${action_yml}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

# Find `runs:` at column 0, then within that block (until the next column-0 key) require
# `using: docker` and rewrite the single `image:` line, keeping its indentation.
awk -v ref="$ref" '
    function unquote(v) {
        sub(/[ \t]+#.*$/, "", v); sub(/[ \t]+$/, "", v)
        if (v ~ /^".*"$/ || v ~ /^\047.*\047$/) v = substr(v, 2, length(v) - 2)
        return v
    }
    /^[^ \t#]/ { in_runs = ($0 ~ /^runs:[ \t]*(#.*)?$/) }
    in_runs && /^[ \t]+using:/ {
        v = $0; sub(/^[ \t]+using:[ \t]*/, "", v)
        if (unquote(v) == "docker") using_docker = 1
    }
    in_runs && /^[ \t]+image:/ {
        images++
        match($0, /^[ \t]+/)
        print substr($0, 1, RLENGTH) "image: \047docker://" ref "\047"
        next
    }
    { print }
    END {
        if (!using_docker) { print "pin-image.sh: runs.using is not docker" > "/dev/stderr"; exit 3 }
        if (images != 1) { print "pin-image.sh: expected one runs.image line, found " images + 0 > "/dev/stderr"; exit 3 }
    }
' "$action_yml" >"$tmp" || die "cannot pin $action_yml"

# Keep the file mode; replace atomically.
chmod --reference="$action_yml" "$tmp"
mv "$tmp" "$action_yml"
trap - EXIT
echo "pin-image.sh: $action_yml now uses docker://$ref" >&2
