#!/usr/bin/env bash
# Where the OIDC path's instructions, heap and bytes go. Run through
# `scripts/bench.sh --profile` (which builds bench/standin first and passes its path).
#
#   * callgrind instruction counts (stable on a noisy machine) for: the OIDC path with
#     the host's CA store (bundle + /etc/ssl/certs directory), the OIDC path with only the
#     bundle (SSL_CERT_FILE, as in the FROM scratch image), an input-validation failure
#     and `--version`; with the inclusive counts of the parts that matter;
#   * dhat: heap peak and total allocated on the OIDC path;
#   * strace: CA files opened, connections, threads, ~/.aws or IMDS access;
#   * bench/sizes.py: binary bytes by crate.
#
# Uses an unstripped copy of the release profile (same code: only strip/debug differ) in
# target/bench-profile, so `target/release` is left alone. ~4 min on 2 cores when cold.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
standin_bin="$1"
cd "$repo"
log() { echo "profile.sh: $*" >&2; }

for tool in valgrind.bin callgrind_annotate strace nm size; do
    command -v "$tool" >/dev/null || { log "$tool is needed (apt-get install valgrind strace binutils)"; exit 1; }
done

log "building an unstripped release binary in target/bench-profile"
CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release --locked --target-dir target/bench-profile >&2
bin="$repo/target/bench-profile/release/keyless-aws"

work="$(mktemp -d -t keyless-aws-profile.XXXXXX)"
# The stand-in exits when its stdin closes (this script ends) or after 10 minutes.
coproc STANDIN { exec "$standin_bin" --max-seconds 600; }
cleanup() {
    exec {STANDIN[1]}>&- 2>/dev/null || true
    wait "$STANDIN_PID" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
read -r ports <&"${STANDIN[0]}"
port() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ports" "$1"; }
ok="$(port ok)"
imds="$(port imds)"

mkdir -p "$work/home" "$work/files"
oidc_env=(
    "PATH=/usr/bin:/bin" "HOME=$work/home"
    "GITHUB_ENV=$work/files/env" "GITHUB_OUTPUT=$work/files/output"
    "GITHUB_STATE=$work/files/state" "GITHUB_STEP_SUMMARY=$work/files/summary"
    "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$imds"
    "INPUT_AWS-REGION=us-east-1" "INPUT_ROLE-TO-ASSUME=arn:aws:iam::123456789012:role/bench"
    "INPUT_ROLE-DURATION-SECONDS=3600" "INPUT_AUDIENCE=sts.amazonaws.com"
    "INPUT_STS-ENDPOINT=http://127.0.0.1:$ok"
    "ACTIONS_ID_TOKEN_REQUEST_URL=http://127.0.0.1:$ok/token?api-version=2.0"
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN=bench-request-token"
)
reset_files() { : >"$work/files/env"; : >"$work/files/output"; : >"$work/files/state"; : >"$work/files/summary"; }

# /usr/bin/valgrind is a shell wrapper on Debian, and a shell drops the INPUT_ROLE-TO-ASSUME
# style names (not valid shell identifiers); valgrind.bin passes the environment through.
callgrind() { # name, extra env...
    local name="$1"; shift
    reset_files
    env -i "${oidc_env[@]}" "$@" valgrind.bin --tool=callgrind --callgrind-out-file="$work/cg.$name" \
        "$bin" ${CG_ARGS:-} >/dev/null 2>"$work/cg.$name.log" || true
    callgrind_annotate --inclusive=yes --threshold=100 "$work/cg.$name" 2>/dev/null >"$work/cg.$name.txt"
    callgrind_annotate --tree=caller --inclusive=yes --threshold=100 "$work/cg.$name" 2>/dev/null >"$work/cg.$name.callers"
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$work/cg.$name.txt"
}

echo "== callgrind: instructions (Ir), $(basename "$bin") $(stat -c %s "$bin") B unstripped"
printf '%-62s %14s\n' "run" "Ir"
printf '%-62s %14s\n' "OIDC path, host CA store (bundle + /etc/ssl/certs dir)" "$(callgrind oidc)"
printf '%-62s %14s\n' "OIDC path, bundle only (SSL_CERT_FILE; as in the image)" \
    "$(callgrind oidc-bundle SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt)"
printf '%-62s %14s\n' "invalid input (role-duration-seconds=abc)" "$(callgrind invalid INPUT_ROLE-DURATION-SECONDS=abc)"
printf '%-62s %14s\n' "--version" "$(CG_ARGS=--version callgrind version)"

echo
echo "== callgrind: inclusive Ir of the parts of the OIDC path (host CA store | bundle only)"
python3 - "$work/cg.oidc.txt" "$work/cg.oidc-bundle.txt" <<'EOF'
import re, sys
parts = [
    ("whole run", r"PROGRAM TOTALS"),
    ("dynamic loader + relocations (ld.so _dl_start)", r"rtld\.c:_dl_start \["),
    ("TLS roots: rustls_native_certs::load_native_certs, all calls", r":rustls_native_certs::load_native_certs \["),
    ("  PEM parsing inside it (rustls_pki_types::pem)", r":rustls_pki_types::pem::from_buf_inner \["),
    ("STS client: aws_sdk_sts Client::from_conf (incl. the SDK connector)", r":aws_sdk_sts::client::Client::from_conf \["),
    ("  SDK rustls connector build (loads roots)", r"aws_smithy_http_client::client::Builder::build_with_connector_fn::\{\{closure\}\} \["),
    ("  endpoint rules: PartitionResolver::new_from_json", r":aws_sdk_sts::endpoint_lib::partition::PartitionResolver::new_from_json \["),
    ("  trust anchors from the loaded roots (webpki)", r":webpki::trust_anchor::anchor_from_trusted_cert \["),
    ("STS call: orchestrator try_op (sign-free request, XML parse)", r":aws_smithy_runtime::client::orchestrator::try_op::\{\{closure\}\}::\{\{closure\}\} \["),
    ("inputs: RawInputs::from_env + plan", r":keyless_aws::inputs::build::plan \["),
    ("std main-thread setup (pthread_getattr_np: /proc/self/maps)", r"pthread_getattr_np@@"),
]
def load(path):
    rows = []
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
        if m:
            rows.append((int(m.group(1).replace(",", "")), m.group(2)))
        m = re.match(r"\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", line)
        if m:
            rows.append((int(m.group(1).replace(",", "")), "PROGRAM TOTALS"))
    return rows
tables = [load(p) for p in sys.argv[1:]]
totals = [max((n for n, f in t if f == "PROGRAM TOTALS"), default=1) for t in tables]
print(f"{'part':<72} {'host store':>22} {'bundle only':>22}")
for label, pattern in parts:
    cells = []
    for t, total in zip(tables, totals):
        n = max((n for n, f in t if re.search(pattern, f)), default=0)
        cells.append(f"{n:>12,} {100 * n / total:5.1f} %" if n else f"{'-':>20}")
    print(f"{label:<72} {cells[0]:>22} {cells[1]:>22}")
EOF

echo
echo "== callgrind: who loads the TLS roots (callers of rustls_native_certs::load_native_certs)"
python3 - "$work/cg.oidc.callers" "$work/cg.oidc-bundle.callers" <<'EOF2'
import re, sys
for path, label in zip(sys.argv[1:], ("host CA store", "bundle only")):
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        if re.search(r"\*\s+\S*:rustls_native_certs::load_native_certs \[", line):
            print(f" {label}:")
            j = i - 1
            while j >= 0 and "<" in lines[j]:
                m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+<\s+(\S+?):(\S.*?) \((\d+)x\)", lines[j])
                if m:
                    crate = re.search(r"/([A-Za-z0-9_-]+-\d+\.\d+\.\d+[^/]*)/src/", m.group(3))
                    src = crate.group(1) if crate else m.group(3).rsplit("/", 1)[-1]
                    print(f"  {m.group(1):>12} Ir ({m.group(2):>5} %) from {src} ({m.group(5)} call)")
                j -= 1
            break
EOF2

echo
echo "== dhat: heap on the OIDC path"
reset_files
env -i "${oidc_env[@]}" valgrind.bin --tool=dhat --dhat-out-file="$work/dhat.out" "$bin" >/dev/null 2>"$work/dhat.log" || true
grep -E "Total:|t-gmax|t-end" "$work/dhat.log" | sed 's/^==[0-9]*== /  /'
reset_files
env -i "${oidc_env[@]}" SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt valgrind.bin --tool=dhat \
    --dhat-out-file="$work/dhat2.out" "$bin" >/dev/null 2>"$work/dhat2.log" || true
echo "  bundle only:"
grep -E "Total:|t-gmax" "$work/dhat2.log" | sed 's/^==[0-9]*== /  /'

echo
echo "== strace: what the OIDC path touches"
reset_files
env -i "${oidc_env[@]}" strace -f -qq -e trace=openat,connect,clone,clone3 -o "$work/strace.txt" "$bin" >/dev/null || true
printf '  CA files opened:        %s (bundle opened %s times)\n' \
    "$(grep -c 'openat.*/etc/ssl/certs/.*= [0-9]' "$work/strace.txt" || true)" \
    "$(grep -c 'ca-certificates.crt.*= [0-9]' "$work/strace.txt" || true)"
printf '  connections:            %s (%s)\n' "$(grep -c '^[0-9]* *connect(' "$work/strace.txt" || true)" \
    "$(grep -o 'sin_port=htons([0-9]*)' "$work/strace.txt" | sort | uniq -c | tr -s ' ' | paste -sd, -)"
printf '  to the IMDS stand-in:   %s\n' "$(grep -c "htons($imds)" "$work/strace.txt" || true)"
printf '  threads started:        %s\n' "$(grep -cE 'clone3?\(' "$work/strace.txt" || true)"
printf '  ~/.aws files looked at: %s\n' "$(grep -c '\.aws' "$work/strace.txt" || true)"

if command -v gdb >/dev/null; then
    echo
    echo "== resident memory at exit of the OIDC path, by mapping (gdb stops at exit_group; KiB)"
    cat >"$work/smaps.gdb" <<'GDB'
set startup-with-shell off
catch syscall exit_group
run
python
import collections, gdb, os
pid = gdb.selected_inferior().pid
agg = collections.Counter()
key = None
for line in open(f"/proc/{pid}/smaps"):
    parts = line.split()
    if "-" in parts[0] and not parts[0].endswith(":"):
        name = parts[5] if len(parts) > 5 else "[anonymous]"
        key = (os.path.basename(name) if name.startswith("/") else name, parts[1])
    elif parts[0] == "Rss:":
        agg[key] += int(parts[1])
print(f"  total RSS {sum(agg.values())} KiB")
for (name, perms), kib in agg.most_common(12):
    if kib:
        print(f"  {kib:>6}  {name} {perms}")
end
kill
quit
GDB
    for variant in "host CA store:" "bundle only:"; do
        extra=()
        [[ "$variant" == "bundle only:" ]] && extra=(SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt)
        reset_files
        echo " $variant"
        env -i "${oidc_env[@]}" ${extra[@]+"${extra[@]}"} gdb -q -batch -x "$work/smaps.gdb" "$bin" 2>/dev/null \
            | grep -E '^  ' || true
    done
fi

echo
echo "== binary bytes by crate"
python3 "$repo/bench/sizes.py" "$bin" --top 30
