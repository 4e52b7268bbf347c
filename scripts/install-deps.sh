#!/usr/bin/env bash
# Installs the Debian packages lvsctl's tests and lab need (as root; uses sudo otherwise).
# keepalived: `keepalived -t` checks rendered configs, and it is the VRRP peer in lab tests.
# openssh-server, systemd-container, debootstrap: the lab's hosts. ansible-core: the benchmark peer.
# qemu-system-x86, qemu-utils: the qemu lab's guests with a real IPVS kernel (src/lab/qemu.ts).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
PKGS=(keepalived ipvsadm openssh-server openssh-client systemd-container debootstrap ansible-core
      iproute2 tcpdump arping curl sudo iputils-ping procps psmisc socat make g++ python3
      qemu-system-x86 qemu-utils e2fsprogs)
# Node: the machine's own if it has one (>= 18.17), else Debian's (18.19 on Debian 12).
command -v node >/dev/null 2>&1 || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  # policy-rc.d keeps package scripts from starting keepalived/sshd on the machine itself.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
