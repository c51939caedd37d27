#!/usr/bin/env bash
# Install deploy-wizard and everything its tests need on a Debian 12 machine.
#   system packages: debootstrap + systemd-container + iptables (the sandbox server), openssh-client, git
#   python: this checkout in editable mode with the test extras
# Run as root (or with sudo) for the system packages; without root they are skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SYSTEM_PACKAGES=(debootstrap systemd-container iptables iproute2 openssh-client git ca-certificates curl openssl pebble
                 python3-venv)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: not root (or no apt-get): skipping system packages ${SYSTEM_PACKAGES[*]} (only the sandbox needs them)"
fi

"$PYTHON" -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"

# Ansible, for the live test of the Ansible export: its own venv (its Jinja/YAML pins stay out of ours).
ANSIBLE_VENV=${DW_ANSIBLE_VENV:-/var/cache/deploy-wizard/ansible-venv}
ANSIBLE_CORE=ansible-core==2.19.14
if [ "$(id -u)" = 0 ] && ! [ -x "$ANSIBLE_VENV/bin/ansible-playbook" ]; then
  echo "setup: installing $ANSIBLE_CORE into $ANSIBLE_VENV"
  "$PYTHON" -m venv "$ANSIBLE_VENV"
  "$ANSIBLE_VENV/bin/pip" install -q --disable-pip-version-check "$ANSIBLE_CORE"
fi
echo "setup: done. Try: deploy-wizard --help"
