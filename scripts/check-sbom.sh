#!/usr/bin/env bash
# Check that an SBOM of keyless-aws names the crates the binary is built from.
#
#   bash scripts/check-sbom.sh --sbom SBOM.spdx.json [--target TRIPLE]   # CI: syft's SPDX of the image
#   bash scripts/check-sbom.sh --binary PATH [--target TRIPLE]           # local: the binary's own record
#
# The binary carries its dependency list because it is built with `cargo auditable`
# (Dockerfile): a zlib-compressed JSON in the ELF section `.dep-v0`, which SBOM scanners
# (syft, trivy) and `cargo audit bin` read. --sbom reads the `pkg:cargo/NAME@VERSION`
# packages of an SPDX JSON document; --binary reads `.dep-v0` itself (objcopy).
#
# Expected: every crate linked into the binary for TRIPLE (default: the host), from
# `cargo tree -e normal,no-proc-macro` on Cargo.lock. It fails when one of them is
# missing or has another version, when the SBOM names a crate that Cargo.lock does not
# have, or when the SBOM lists no crates at all (a binary built without cargo-auditable).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

die() { echo "check-sbom.sh: error: $*" >&2; exit 1; }
usage() { sed -n '2,16{s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }

sbom="" binary="" target=""
while (($#)); do
    case "$1" in
        --sbom) sbom="${2:-}"; shift ;;
        --binary) binary="${2:-}"; shift ;;
        --target) target="${2:-}"; shift ;;
        -h|--help) usage ;;
        *) echo "check-sbom.sh: unknown argument: $1" >&2; usage ;;
    esac
    shift
done
[[ -n "$sbom" || -n "$binary" ]] || usage
[[ -z "$sbom" || -z "$binary" ]] || die "give --sbom or --binary, not both"
target="${target:-$(rustc -vV | sed -n 's/^host: //p')}"
[[ -n "$target" ]] || die "cannot tell the target (give --target)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# ---- what the SBOM says: NAME VERSION per line ----
if [[ -n "$sbom" ]]; then
    [[ -s "$sbom" ]] || die "no SBOM at $sbom"
    python3 - "$sbom" >"$tmp/found" <<'EOF'
import json, sys, urllib.parse
doc = json.load(open(sys.argv[1]))
for pkg in doc.get("packages", []):
    for ref in pkg.get("externalRefs", []):
        loc = ref.get("referenceLocator", "")
        if ref.get("referenceType") == "purl" and loc.startswith("pkg:cargo/"):
            name, _, version = loc[len("pkg:cargo/"):].split("?")[0].partition("@")
            print(urllib.parse.unquote(name), urllib.parse.unquote(version))
EOF
else
    [[ -f "$binary" ]] || die "no binary at $binary"
    command -v objcopy >/dev/null || die "objcopy (binutils) is needed to read .dep-v0"
    # objcopy quietly writes nothing when the section is missing.
    objcopy --dump-section ".dep-v0=$tmp/dep-v0" "$binary" "$tmp/copy" 2>"$tmp/objcopy.err" || true
    [[ -s "$tmp/dep-v0" ]] \
        || die "$binary has no .dep-v0 section: it was not built with cargo auditable $(head -c 300 "$tmp/objcopy.err")"
    python3 - "$tmp/dep-v0" >"$tmp/found" <<'EOF'
import json, sys, zlib
data = json.loads(zlib.decompress(open(sys.argv[1], "rb").read()))
for pkg in data.get("packages", []):
    if pkg.get("kind", "runtime") == "runtime":
        print(pkg["name"], pkg["version"])
EOF
fi
sort -u -o "$tmp/found" "$tmp/found"

# ---- what Cargo.lock says ----
cargo tree --locked --quiet -e normal,no-proc-macro --target "$target" --prefix none --format '{p}' \
    | awk 'NF >= 2 { v = $2; sub(/^v/, "", v); print $1, v }' | sort -u >"$tmp/expected"
awk '/^name = / { gsub(/"/, "", $3); n = $3 } /^version = / { gsub(/"/, "", $3); print n, $3 }' Cargo.lock \
    | sort -u >"$tmp/lock"

found=$(wc -l <"$tmp/found")
expected=$(wc -l <"$tmp/expected")
((expected > 0)) || die "cargo tree listed no crates"
((found > 0)) || die "the SBOM names no crates at all (was the binary built with cargo auditable?)"

status=0
missing="$(comm -23 "$tmp/expected" "$tmp/found")"
unknown="$(comm -13 "$tmp/lock" "$tmp/found")"
if [[ -n "$missing" ]]; then
    echo "check-sbom.sh: FAIL: $(wc -l <<<"$missing") crates of the binary are not in the SBOM:" >&2
    mapfile -t lines <<<"$missing"
    printf '  %s\n' "${lines[@]}" >&2
    status=1
fi
if [[ -n "$unknown" ]]; then
    echo "check-sbom.sh: FAIL: the SBOM names crates that Cargo.lock does not have:" >&2
    mapfile -t lines <<<"$unknown"
    printf '  %s\n' "${lines[@]}" >&2
    status=1
fi
if ((status == 0)); then
    echo "check-sbom.sh: ok: the SBOM names all $expected crates of the binary ($target), with the versions of Cargo.lock ($found crates listed)" >&2
fi
exit "$status"
