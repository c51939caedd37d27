"""Turn secret references from the recipe into values, only in memory and only at run time.

Why references: the recipe file is meant to be shared, reviewed and committed. `env:NAME` suits CI,
`file:/path` suits a secrets manager that writes files, `prompt` suits a person at a terminal. With no
terminal (`--yes` in CI) a prompt is an error that names the secret, never a silent hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from wizard.engine.commands import Masker, Secret
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _

Prompt = Callable[[str], str | None]


class SecretError(DeployWizardError):
    """A secret reference that cannot be resolved: bad input, and the message names the setting."""

    exit_code = ExitCode.BAD_INPUT
    bare = True


class SecretResolver:
    def __init__(self, prompt: Prompt | None = None, environ: dict[str, str] | None = None,
                 masker: Masker | None = None) -> None:
        self.prompt = prompt
        self.environ = os.environ if environ is None else environ
        self.masker = masker or Masker()
        self._resolved: dict[str, Secret] = {}

    def resolve(self, ref: str, label: str) -> Secret:
        if ref in self._resolved:
            return self._resolved[ref]
        if ref.startswith("env:"):
            name = ref[4:]
            value = self.environ.get(name)
            if value is None:
                raise SecretError(_("{label}: environment variable {name} is not set").format(label=label, name=name))
        elif ref.startswith("file:"):
            path = Path(os.path.expanduser(ref[5:]))
            try:
                value = path.read_text(encoding="utf-8").rstrip("\n")
            except OSError as exc:
                raise SecretError(_("{label}: cannot read {path}: {why}").format(
                    label=label, path=path, why=exc.strerror)) from None
        elif ref == "prompt":
            if self.prompt is None:
                raise SecretError(_("{label} is set to 'prompt' but there is no terminal to ask on; "
                                    "use env:NAME or file:/path for unattended runs").format(label=label))
            value = self.prompt(label)
            if value is None:
                raise SecretError(_("{label}: no value given").format(label=label))
        else:
            raise SecretError(_("{label}: '{ref}' is not a secret reference").format(label=label, ref=ref))
        if not value:
            raise SecretError(_("{label}: the secret is empty").format(label=label))
        secret = Secret(label, value, ref=ref)
        self.masker.add(secret)
        self._resolved[ref] = secret
        return secret
