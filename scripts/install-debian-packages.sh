#!/usr/bin/env bash
# Installs the Debian packages the real-runtime environment needs (scripts/runtimes.sh),
# if any is missing. Used by .ci/run and scripts/demo.sh; needs root.
set -euo pipefail
PACKAGES=(containerd runc containernetworking-plugins docker-registry skopeo umoci busybox-static iproute2)
missing=()
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
((${#missing[@]})) || exit 0
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# docker-registry's init script would start a system registry on :5000 on every interface;
# the environment runs its own on 127.0.0.1. Keep the install from starting services
# (the usual container guard), unless the machine already has a policy of its own.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
