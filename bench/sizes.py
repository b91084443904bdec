#!/usr/bin/env python3
"""Where the bytes of an unstripped binary go, by crate (code + read-only data).

    python3 bench/sizes.py target/bench-profile/release/keyless-aws [--top 25]

Uses `nm -S -C --defined-only` (binutils). Each symbol is attributed to the first
path segment of its demangled name (`<aws_sdk_sts::X as core::fmt::Debug>::fmt` ->
aws_sdk_sts); aws-lc's C symbols (prefixed `aws_lc_<ver>_`) become `aws-lc (C)`, ring's
(`ring_core_<ver>_`) `ring (C/asm)`, unprefixed crypto tables and assembly a
crypto bucket of their own; other C symbols `libc/other C`.
Symbols at the same address (aliases) are counted once. The section totals from
`size -A` are printed too: unwind tables and relocations belong to no symbol.
"""

import argparse
import collections
import re
import subprocess
import sys

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Crypto assembly / table symbols that escape the aws-lc or ring prefix.
AWS_LC_HINTS = ("curve25519", "edwards25519", "p256", "p384", "p521", "bignum_", "sha256_block",
                "sha512_block", "aes_hw", "aes_nohw", "vpaes", "gcm_", "ChaCha20", "chacha20",
                "x25519", "ecp_nistz256", "kObjects", "kNIDsIn", "poly1305", "mlkem", "ml_kem",
                "rsaz_", "bn_", "BORINGSSL", "OPENSSL", "EVP_", "abi_test", "md5_block", "sha1_block",
                "k25519", "kOpenSSL", "beeu_", "aesni_", "aesv8", "x86_64_assembly", "CRYPTO_", "OPENSSL_ia32")


def crate_of(name):
    if name.startswith("aws_lc_"):
        return "aws-lc (C)"
    if name.startswith("ring_core_"):
        return "ring (C/asm)"
    s = name
    # Strip leading impl/qualified-path punctuation: "<", "&", "dyn ", "(".
    while True:
        s = s.lstrip("<&*( ")
        for kw in ("dyn ", "mut ", "const ", "impl "):
            if s.startswith(kw):
                s = s[len(kw):]
                break
        else:
            break
    m = IDENT.match(s)
    if not m:
        return "other"
    head = m.group(0)
    rest = s[m.end():]
    if rest.startswith("::") or rest.startswith("<"):
        if head in ("_", "_ZN"):
            return "other"
        return head
    # A plain C symbol.
    if any(h in name for h in AWS_LC_HINTS):
        return "crypto C/asm, unprefixed (aws-lc or ring)"
    return "libc/other C"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    out = subprocess.run(["nm", "-S", "-C", "--defined-only", args.binary],
                         capture_output=True, text=True, check=True).stdout
    seen = set()
    by_crate = collections.Counter()
    code = data = 0
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) != 4:
            continue
        addr, size, kind, name = parts
        if len(kind) != 1 or not re.fullmatch(r"[0-9a-f]+", size):
            continue  # a symbol without a size
        if kind.lower() not in ("t", "r", "d", "b", "w", "v"):
            continue
        if kind.lower() == "b":  # .bss takes no file space
            continue
        if addr in seen:
            continue
        seen.add(addr)
        n = int(size, 16)
        by_crate[crate_of(name)] += n
        if kind.lower() == "t":
            code += n
        else:
            data += n
    total = sum(by_crate.values())

    sections = subprocess.run(["size", "-A", args.binary], capture_output=True, text=True, check=True).stdout
    print(f"Sections of {args.binary} (file bytes, debug sections left out):")
    for line in sections.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and not parts[0].startswith(".debug") \
                and parts[0] not in (".bss", ".tbss", ".comment", ".symtab", ".strtab") \
                and parts[1].isdigit() and int(parts[1]) >= 4096:
            print(f"  {parts[0]:<20} {int(parts[1]):>10,}")
    print(f"\nSymbols: {total:,} B ({code:,} code, {data:,} data); by crate:")
    for crate, n in by_crate.most_common(args.top):
        print(f"  {crate:<32} {n:>10,} B  {100 * n / total:5.1f} %")
    rest = sum(n for c, n in by_crate.most_common()[args.top:])
    if rest:
        print(f"  {'(others)':<32} {rest:>10,} B  {100 * rest / total:5.1f} %")


if __name__ == "__main__":
    sys.exit(main())
