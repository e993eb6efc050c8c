#!/usr/bin/env bash
# Installs the Debian packages the call center and its tests use, only those missing.
# Idempotent: a machine that has them all does nothing. Without root it only reports.
set -euo pipefail
PKGS=(sip-tester baresip linphone-cli libspandsp2 libtiff-tools espeak-ng sox libsox-fmt-all
      ffmpeg chromium fonts-wqy-microhei iproute2 gcc libc6-dev python3-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages (run as root to install): ${missing[*]}" >&2
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null || true
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
