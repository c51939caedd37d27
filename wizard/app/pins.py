"""Host-key pins that travel with the recipe: a replay on another machine checks the same keys.

Why beside the recipe and not only in our own store (~/.config/deploy-wizard/known_hosts): a key trusted on one
laptop is known only there; copied to a colleague's machine or a CI runner, the same recipe would meet every
server as new, and its operator would trust whatever answered. So a recipe keeps its pins itself:

- the recipe's own server: the target's host key pin (the wizard fills it in when the operator trusts a key);
- other servers (`--host`, `--inventory`): the inventory entry's `host_key`, or a known-hosts file beside the
  recipe (`demo.known_hosts` beside `demo.yaml`, OpenSSH's format, so `ssh -o UserKnownHostsFile=` reads it),
  where the CLI records every key its operator trusts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wizard.engine.hostkeys import HostKeyStore
from wizard.engine.i18n import _
from wizard.engine.options import field_specs


def beside(recipe_path: Path | str) -> Path:
    """The known-hosts file that goes with a recipe file: its name, with `.known_hosts` for `.yaml`."""
    return Path(recipe_path).with_suffix(".known_hosts")


def pin_label() -> str:
    """The target's host key pin by its label on the Target screen (up to its first `;`), in the current language."""
    from wizard.app.recipefile import Target

    spec = next(spec for spec in field_specs(Target) if spec.name == "host_key")
    return spec.text().split(";")[0].split("；")[0].strip()


class RecipeKnownHosts(HostKeyStore):
    """deploy-wizard's own store and ~/.ssh/known_hosts, plus the file beside the recipe: a key in any of them is
    trusted, and a key the operator trusts is recorded in both ours and the recipe's."""

    def __init__(self, file: Path, store: HostKeyStore | None = None) -> None:
        mine = store or HostKeyStore()
        super().__init__(mine.path, [*mine.openssh_files, file])
        self.recipe_file = HostKeyStore(file, openssh_files=[])

    def add(self, host: str, port: int, key_line: str) -> None:
        super().add(host, port, key_line)
        self.recipe_file.add(host, port, key_line)


@dataclass(frozen=True)
class HostPins:
    """Where a run finds (and keeps) the pins of the hosts it connects to, beyond the recipe's target."""

    file: Path | None = None  # the known-hosts file beside the recipe; None: no recipe file (the wizard's draft)
    inventory: Mapping[str, str] = field(default_factory=dict)  # host -> "SHA256:..." from the inventory

    @classmethod
    def for_recipe(cls, recipe_path: Path | str | None, inventory: Mapping[str, str] | None = None) -> HostPins:
        return cls(beside(recipe_path) if recipe_path else None, dict(inventory or {}))

    def pinned(self, host: str, target_host: str, target_pin: str | None) -> str | None:
        """The fingerprint `host` must present: the inventory's pin, else the target's own for the target."""
        return self.inventory.get(host) or (target_pin if host == target_host else None)

    def place(self, host: str, target_host: str) -> str:
        """Where the operator pins `host`, named the way they meet it (the field's label, the inventory)."""
        if host == target_host and host not in self.inventory:
            return _("“{label}” in the recipe's target settings (the wizard's Target screen)").format(
                label=pin_label())
        if self.file is not None:
            return _("the inventory's entry for {host} (host_key), or {file}").format(host=host, file=self.file)
        return _("the inventory's entry for {host} (host_key)").format(host=host)

    def store(self) -> HostKeyStore | None:
        """The known hosts a connection reads and records in; None: the transport's own (deploy-wizard's store and
        ~/.ssh/known_hosts), when there is no recipe file to keep pins beside."""
        return RecipeKnownHosts(self.file) if self.file is not None else None
