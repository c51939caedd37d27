#!/usr/bin/env bash
# Install deploy-wizard from this checkout on Debian 12/13 (or Ubuntu), as root or as a user.
#
#   bash scripts/setup.sh           the tool: .venv/ in this checkout, `deploy-wizard` on PATH
#   bash scripts/setup.sh --test    also what the tests need (test extras, Ansible for the export test)
#
# Why a venv: a stock Debian has no pip for its python3 and refuses `pip install` into it (PEP 668, the
# "externally managed" error). A venv beside the code needs neither, and nothing of the system's Python changes.
# As root it also installs the system packages (no sudo needed; with sudo, run it as `sudo bash ...`) and links
# /usr/local/bin/deploy-wizard; as a user it links ~/.local/bin/deploy-wizard and skips the system packages
# (only the practice sandbox needs them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) TEST=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3}
VENV=${DW_VENV:-$ROOT/.venv}
# the practice sandbox (debootstrap, systemd-nspawn, NAT), the lab's git and ACME servers, and python3-venv
SYSTEM_PACKAGES=(python3 python3-venv debootstrap systemd-container iptables iproute2 openssh-client git
                 ca-certificates curl openssl pebble)
# the live tests' load generator (releases under concurrent keep-alive requests), promtool (Debian ships it in
# its prometheus package) for `promtool test rules` of the alert rules (tests/test_alert_rules.py), and rsync for
# the backup scripts' tests (tests/test_backups_scripts.py: without it they skip)
[ "$TEST" = 1 ] && SYSTEM_PACKAGES+=(wrk prometheus rsync)
# the container export's live test builds and runs it (runc: crun refuses a host with hybrid cgroups; catatonit:
# the pods' pause binary, only a Recommends of podman, which --no-install-recommends leaves out)
[ "$TEST" = 1 ] && SYSTEM_PACKAGES+=(podman runc catatonit)

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
  echo "setup: not root (or no apt-get): skipping the system packages ${SYSTEM_PACKAGES[*]}" \
       "(only the practice sandbox needs them; python3-venv is needed for this setup)"
fi

if ! [ -x "$VENV/bin/python" ]; then
  echo "setup: creating the virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || { echo "setup: '$PYTHON -m venv' failed: install python3-venv" >&2; exit 1; }
fi
extras=""
[ "$TEST" = 1 ] && extras="[test]"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e ".$extras"

if [ "$(id -u)" = 0 ]; then
  BIN=/usr/local/bin
else
  BIN=$HOME/.local/bin
  mkdir -p "$BIN"
fi
ln -sfn "$VENV/bin/deploy-wizard" "$BIN/deploy-wizard"
case ":$PATH:" in *":$BIN:"*) ;; *) echo "setup: add $BIN to your PATH to run deploy-wizard" ;; esac

if [ "$TEST" = 1 ]; then
  # Ansible, for the live test of the Ansible export: its own venv (its Jinja/YAML pins stay out of ours).
  ANSIBLE_VENV=${DW_ANSIBLE_VENV:-/var/cache/deploy-wizard/ansible-venv}
  ANSIBLE_CORE=ansible-core==2.19.14
  if [ "$(id -u)" = 0 ] && ! [ -x "$ANSIBLE_VENV/bin/ansible-playbook" ]; then
    echo "setup: installing $ANSIBLE_CORE into $ANSIBLE_VENV"
    "$PYTHON" -m venv "$ANSIBLE_VENV"
    "$ANSIBLE_VENV/bin/pip" install -q --disable-pip-version-check "$ANSIBLE_CORE"
  fi
fi
echo "setup: done. Try: deploy-wizard --help"
