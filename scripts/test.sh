#!/usr/bin/env bash
# The whole test suite, exactly what CI runs: formatting, lints, unit and
# integration tests (one binary, tests/it: stand-ins, moto, the container image
# under Docker, act, the leak test, snapshots), fuzzing for a fixed number of runs,
# and cargo-deny. Changes no tracked file.
#
# The tests that need Docker, moto or act are #[ignore = "needs …"], so a plain
# `cargo test` lists them as ignored; here they run (--include-ignored) and a missing
# tool fails them. Anything this script cannot check here is named in its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
skipped=()
tracked_before="$(git status --porcelain --untracked-files=no 2>/dev/null || true)"
bash scripts/setup.sh
cargo fmt --check
# The workflows and Dependabot settings, by zizmor's offline audits (.github/zizmor.yml).
zizmor --offline --config .github/zizmor.yml .github/workflows .github/dependabot.yml
cargo clippy --locked --all-targets -- -D warnings
# The container and act tests need the static release binary and the image;
# they build them once through scripts/build-image.sh. Under CI=true, insta fails
# on a snapshot that differs instead of writing a .snap.new.
cargo test --locked --all-targets -- --include-ignored --test-threads 2 --skip refresh::terraform_
# Terraform's AWS provider as a consumer of the refresh helper: needs terraform and an
# offline mirror of hashicorp/aws (a directory holding registry.terraform.io/hashicorp/aws).
tf_mirror=
for d in "${TF_PROVIDER_MIRROR:-}" /opt/tf-plugins /usr/local/share/terraform/plugins \
    /usr/share/terraform/plugins "$HOME/.terraform.d/plugins"; do
    [[ -n "$d" && -d "$d/registry.terraform.io/hashicorp/aws" ]] && { tf_mirror="$d"; break; }
done
if command -v terraform >/dev/null && [[ -n "$tf_mirror" ]]; then
    TF_PROVIDER_MIRROR="$tf_mirror" cargo test --locked --test it refresh::terraform_ -- --include-ignored
else
    skipped+=("Terraform refresh test (needs terraform and an offline hashicorp/aws provider mirror)")
fi
bash scripts/fuzz.sh
deny_log="$(mktemp)"
bash scripts/deny.sh | tee "$deny_log"
grep -q '^deny: SKIPPED' "$deny_log" && skipped+=("cargo deny (not installed; CI=true installs it)")
grep -q '^deny: advisories not checked' "$deny_log" && skipped+=("RustSec advisories (need github.com; run on GitHub Actions)")
rm -f "$deny_log"
if [[ "$(git status --porcelain --untracked-files=no 2>/dev/null || true)" != "$tracked_before" ]]; then
    echo "test.sh: the run changed tracked files:" >&2
    git status --porcelain --untracked-files=no >&2
    exit 1
fi
if ((${#skipped[@]})); then
    printf -v list '%s; ' "${skipped[@]}"
    echo "test.sh: all checks passed EXCEPT ${#skipped[@]} NOT RUN here: ${list%; }"
else
    echo "test.sh: all checks passed"
fi
