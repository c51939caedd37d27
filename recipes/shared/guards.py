"""Shell tests that say "this change is already in place", for exports that cannot re-run the plan.

Why: a bash script or an Ansible playbook replays recorded changes without deploy-wizard's facts; each change
carries one of these tests (Change.skip_if), so a replay skips what is done and a second replay changes
nothing. Every value is a positional parameter: a guard is as safe to run as the change it guards.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.engine.commands import Command, sh


def packages_installed(names: Sequence[str]) -> Command:
    return sh('for p; do dpkg-query -W -f "\\${db:Status-Abbrev}" "$p" 2>/dev/null | grep -q "^ii" || exit 1; done',
              *names)


def dir_is(path: str, mode: str, owner: str, group: str) -> Command:
    return sh('[ -d "$1" ] && [ "$(stat -c "%a %U %G" "$1")" = "$2" ]', path, f"{mode} {owner} {group}")


def exists(path: str) -> Command:
    return sh('[ -e "$1" ]', path)


def missing(path: str) -> Command:
    """Nothing at the path, not even a symlink (a dangling link fails -e but is still there)."""
    return sh('! [ -e "$1" ] && ! [ -L "$1" ]', path)


def link_is(path: str, target: str) -> Command:
    return sh('[ "$(readlink "$1")" = "$2" ]', path, target)


def file_is(path: str, text: str) -> Command:
    """The file holds exactly this text (a trailing newline aside): markers, one-line config."""
    return sh('[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]', path, text.rstrip("\n"))


def unit_running(unit: str) -> Command:
    return sh('systemctl is-enabled --quiet "$1" && systemctl is-active --quiet "$1"', unit)


def user_exists(name: str) -> Command:
    return sh('getent passwd "$1" >/dev/null', name)
