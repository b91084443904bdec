#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (policy in deny.toml).
#
#   bash scripts/deny.sh            licenses, bans, sources; advisories too on
#                                   GitHub Actions (GITHUB_ACTIONS=true)
#   DENY_ADVISORIES=1 bash scripts/deny.sh    advisories as well, anywhere
#
# The advisories check fetches the RustSec database from github.com, which only
# GitHub-hosted CI (and a developer's own machine) can reach; the other three
# checks read only Cargo.lock and the local registry cache, so they run offline.
# cargo-deny is installed from crates.io when CI=true and it is missing (a few
# minutes of compiling on 2 cores); elsewhere a missing cargo-deny is a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    if [[ "${CI:-}" == true ]]; then
        echo "deny: installing cargo-deny from crates.io" >&2
        cargo install cargo-deny --locked --version '^0.20'
    else
        echo "deny: SKIPPED: cargo-deny is not installed (cargo install cargo-deny --locked)"
        exit 0
    fi
fi

checks=(licenses bans sources)
offline=(--offline)
if [[ "${GITHUB_ACTIONS:-}" == true || "${DENY_ADVISORIES:-}" == 1 ]]; then
    checks+=(advisories)
    offline=()
fi
echo "deny: $(cargo deny --version): ${checks[*]}"
# --locked: check Cargo.lock as committed; the inclusion graphs of duplicate-version
# warnings are long and say nothing a failure would need.
cargo deny "${offline[@]}" --locked check --hide-inclusion-graph "${checks[@]}"
if [[ ${#offline[@]} -gt 0 ]]; then
    echo "deny: advisories not checked here (no github.com); GitHub Actions runs them"
fi
