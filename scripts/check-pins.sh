#!/usr/bin/env bash
# Check that every action the workflows use is pinned to the commit of the tag its
# comment names: `uses: owner/repo[/path]@<40-hex sha> # vX.Y.Z`.
#
#   bash scripts/check-pins.sh [FILE...]     # default: .github/workflows/*.yml and action.yml
#
# For each pin, `git ls-remote` asks the action's repository for refs/tags/vX.Y.Z and
# compares the tag's commit (peeled, for annotated tags) with the sha. It fails on:
# a sha that is not that tag's commit, a tag that does not exist, a `uses:` that is not
# pinned by a full sha, and a pin without a `# vX...` comment. Local actions (`./`) and
# `docker://` references are not actions from a repository and are skipped.
#
# Needs to reach github.com, so it is meant for CI on GitHub. Without network access it
# says so and exits 0 outside CI, non-zero under CI=true (a check that cannot run must
# not pass there).
#
# Environment:
#   CHECK_PINS_URL   repository URL template, OWNER and REPO replaced
#                    (default https://github.com/OWNER/REPO), e.g. a local mirror:
#                    CHECK_PINS_URL=/path/to/mirrors/OWNER+REPO/repo
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
url_template="${CHECK_PINS_URL:-https://github.com/OWNER/REPO}"

if (($#)); then
    files=("$@")
else
    files=(.github/workflows/*.yml action.yml)
fi

log() { echo "check-pins.sh: $*" >&2; }

if [[ "$url_template" == https://* ]] \
    && ! timeout 20 git ls-remote --exit-code https://github.com/actions/checkout HEAD >/dev/null 2>&1; then
    if [[ "${CI:-}" == true && "${GITHUB_ACTIONS:-}" == true ]]; then
        log "error: cannot reach github.com, so no pin can be checked"
        exit 1
    fi
    log "cannot reach github.com from here; pins not checked (this check runs in CI on GitHub)"
    exit 0
fi

failures=0
checked=0
fail() { log "FAIL $1"; failures=$((failures + 1)); }

for file in "${files[@]}"; do
    [[ -f "$file" ]] || continue
    lineno=0
    while IFS= read -r line; do
        lineno=$((lineno + 1))
        [[ "$line" =~ ^[[:space:]]*-?[[:space:]]*uses:[[:space:]]*([^[:space:]#]+)[[:space:]]*(#[[:space:]]*(.*))?$ ]] || continue
        ref="${BASH_REMATCH[1]}"
        ref="${ref%\"}"; ref="${ref#\"}"; ref="${ref%\'}"; ref="${ref#\'}"
        comment="${BASH_REMATCH[3]:-}"
        where="$file:$lineno: $ref"
        case "$ref" in ./* | docker://*) continue ;; esac
        if [[ ! "$ref" =~ ^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)(/[^@]*)?@([0-9a-f]{40})$ ]]; then
            fail "$where: not pinned to a full commit sha"
            continue
        fi
        owner="${BASH_REMATCH[1]}" name="${BASH_REMATCH[2]}" sha="${BASH_REMATCH[4]}"
        tag="${comment%%[[:space:]]*}"
        if [[ ! "$tag" =~ ^v[0-9]+(\.[0-9]+)*([-+][A-Za-z0-9.-]+)?$ ]]; then
            fail "$where: no '# vX.Y.Z' comment naming the tag it pins"
            continue
        fi
        url="${url_template//OWNER/$owner}"
        url="${url//REPO/$name}"
        if ! refs="$(timeout 60 git ls-remote "$url" "refs/tags/$tag" "refs/tags/$tag^{}" 2>&1)"; then
            fail "$where: git ls-remote $url failed: $refs"
            continue
        fi
        # An annotated tag lists the tag object and, as ^{}, the commit; prefer the latter.
        commit="$(awk -v t="refs/tags/$tag^{}" '$2 == t { print $1 }' <<<"$refs")"
        [[ -n "$commit" ]] || commit="$(awk -v t="refs/tags/$tag" '$2 == t { print $1 }' <<<"$refs")"
        checked=$((checked + 1))
        if [[ -z "$commit" ]]; then
            fail "$where: $owner/$name has no tag $tag"
        elif [[ "$commit" != "$sha" ]]; then
            fail "$where: $tag of $owner/$name is $commit, not $sha"
        else
            log "ok   $owner/$name@$tag = $sha"
        fi
    done <"$file"
done

if ((failures)); then
    log "$failures of the pins are wrong or unverifiable"
    exit 1
fi
log "all $checked pins match their tags"
