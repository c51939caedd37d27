"""The answers typed into the wizard so far: possibly incomplete, never lost.

Why a separate draft: a recipe file must be valid, but half-typed answers are not. The draft keeps raw
values per step, is autosaved (atomically) after every screen, and becomes a validated Recipe only when the
operator runs or saves. Quitting mid-way, or a crash, keeps everything typed up to the last screen.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from wizard.app import registry
from wizard.app.draftfiles import HEADER, SavedDraft, drafts_dir, latest_draft, saved_drafts
from wizard.app.recipefile import Recipe, RecipeError, Target, load, parse, save, yaml_error
from wizard.engine import safe_yaml
from wizard.engine.fsutil import UnreadableFile, atomic_write_text, private_dir, read_text_file
from wizard.engine.i18n import _
from wizard.engine.options import field_specs
from wizard.engine.sinks import state_dir
from wizard.engine.validators import secret_ref

DEFAULT_STEPS = ("os_updates", "deploy_user")
# What every Python web app needs, whatever else it has: plain mode offers them switched on for a new recipe
# (the wizard's screens show each step's form, so there a step is included by typing into it).
ESSENTIAL_STEPS = (*DEFAULT_STEPS, "python", "code", "app_server")


def new_key() -> str:
    """A new draft's key: when it was started, and a few random digits for two started in one second."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def path_key(path: Path) -> str:
    """The key of the draft of a recipe file: one draft per file, however often it is opened."""
    return hashlib.sha256(str(path.expanduser().resolve()).encode()).hexdigest()[:8]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in ".-_" else "_" for ch in text)[:60] or "_"


@dataclass
class Draft:
    """Why a key of its own: two new recipes of one app (or one app on two servers) must not overwrite each
    other's draft. The file name says the app and the host for people, the key makes it unique; the file is
    renamed (the old one removed) when the app name or host changes."""

    name: str = "app"
    target: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # raw values per step
    enabled: set[str] = field(default_factory=lambda: set(DEFAULT_STEPS))
    path: Path | None = None  # where the recipe file is saved
    key: str = field(default_factory=new_key)
    saved_as: Path | None = field(default=None, compare=False)  # the draft file last written

    @classmethod
    def from_recipe(cls, recipe: Recipe, path: Path | None = None) -> Draft:
        data = recipe.model_dump(mode="json", exclude_none=True)
        steps = data.get("steps", {})
        return cls(name=recipe.name, target=data["target"], steps=dict(steps), enabled=set(steps), path=path,
                   **({"key": path_key(path)} if path else {}))

    @classmethod
    def load(cls, path: Path) -> Draft:
        """A saved recipe file, or a draft file (which may be incomplete)."""
        try:
            text = read_text_file(path)
            data = safe_yaml.load(text) or {}
        except UnreadableFile as exc:
            raise RecipeError(path, [(None, "", _("cannot read the file: {why}").format(why=exc))]) from None
        except yaml.YAMLError as exc:
            raise yaml_error(path, exc) from None
        if isinstance(data, dict) and "draft" in data:
            body = data["draft"]
            if not isinstance(body, dict):
                raise RecipeError(path, [(None, "draft", _("a draft is a mapping of the answers so far"))])
            mine = path.parent.resolve() == drafts_dir().resolve()  # a draft of ours: saving it replaces it
            return cls(name=body.get("name", "app"), target=body.get("target", {}), steps=body.get("steps", {}),
                       enabled=set(body.get("enabled", DEFAULT_STEPS)),
                       path=Path(body["path"]) if body.get("path") else None,
                       key=str(body.get("key") or path_key(path)), saved_as=path if mine else None)
        return cls.from_recipe(parse(text, path), path)

    def values(self, step: str) -> dict[str, Any]:
        return self.steps.setdefault(step, {})

    def data(self) -> dict[str, Any]:
        """The recipe as a plain dict (only enabled steps, in build order)."""
        steps = {s.name: self.steps.get(s.name, {}) for s in registry.steps() if s.name in self.enabled}
        return {"version": 1, "name": self.name, "target": self.target, "steps": steps}

    def recipe(self, *, across: bool = True) -> Recipe:
        """The validated recipe; RecipeError with field paths when something is still missing or wrong. Without
        `across`, the checks across steps are left to the save: a preview of one step works before the others
        it needs are switched on."""
        return parse(safe_yaml.dump(self.data()), self.path or "<wizard>", across=across)

    def draft_path(self) -> Path:
        host = str(self.target.get("host") or "") or "no-host"
        return drafts_dir() / f"{_slug(self.name)}-{_slug(host)}-{self.key}.yaml"

    @property
    def blank(self) -> bool:
        """Nothing typed yet: such a draft is not saved (it would only crowd the Welcome screen's list)."""
        steps = registry.by_name()
        return (self.name == "app" and self.path is None and self.saved_as is None
                and self.enabled == set(DEFAULT_STEPS) and not _typed(Target, self.target)
                and not any(name not in steps or _typed(steps[name].Settings, values)
                            for name, values in self.steps.items()))

    def in_recipe_file(self) -> bool:
        """Whether the recipe file already holds every answer (it was saved, and nothing changed since)."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            return load(self.path) == self.recipe()
        except RecipeError:
            return False

    def autosave(self) -> Path:
        """Every answer so far, valid or not, atomically; the previous file of this draft goes when it moved.

        Once the recipe file holds every answer, the draft file goes and the recipe's path is returned: drafts
        are for answers that exist nowhere else, and a list of copies would hide the ones that matter."""
        path = self.draft_path()
        if self.blank:
            return path
        if self.path is not None and self.in_recipe_file():
            if self.saved_as is not None:
                self.saved_as.unlink(missing_ok=True)
                self.saved_as = None
            return self.path
        private_dir(path.parent, state_dir())
        steps = registry.by_name()
        body = {"name": self.name, "target": _references_only(Target, self.target),
                "steps": {name: _references_only(steps[name].Settings, values) if name in steps else values
                          for name, values in self.steps.items()},
                "enabled": sorted(self.enabled),
                "path": str(self.path.expanduser().absolute()) if self.path else None, "key": self.key}
        atomic_write_text(path, HEADER + " (answers in progress)\n"
                          + safe_yaml.dump({"draft": body}), mode=0o600)
        if self.saved_as is not None and self.saved_as != path:
            self.saved_as.unlink(missing_ok=True)
        self.saved_as = path
        return path

    def save(self, path: Path | None = None) -> Path:
        """Validate and write the recipe file (atomically); raises RecipeError when not valid yet."""
        target = (path or self.path or Path(f"{self.name}.yaml")).expanduser().absolute()
        save(self.recipe(), target)
        self.path = target  # absolute: the draft says where the recipe is, wherever the wizard starts next time
        return target


def _references_only(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """The values to write to a draft file: a secret field keeps only a reference (env:NAME, file:/path, prompt).

    Why: the form keeps whatever was typed, so it can say that a password typed as it is is not a reference; the
    file on disk must not keep that password. A map of secrets keeps its names with an empty value, so the draft
    still shows what is left to fill in."""
    if not isinstance(values, dict):
        return values
    kept = dict(values)
    for spec in field_specs(model):
        value = kept.get(spec.name)
        if not spec.secret or value is None:
            continue
        if isinstance(value, dict):
            kept[spec.name] = {key: ref if _is_reference(ref) else "" for key, ref in value.items()}
        elif isinstance(value, list):
            kept[spec.name] = [ref for ref in value if _is_reference(ref)]
        elif not _is_reference(value):
            del kept[spec.name]
    return kept


def _is_reference(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        secret_ref(value)
    except ValueError:
        return False
    return True


def _typed(model: type[BaseModel], values: dict[str, Any]) -> bool:
    """Whether any value differs from its field's default (a form stores the defaults it shows, too)."""
    fields = model.model_fields
    return any(name not in fields or value != fields[name].default for name, value in values.items())


def step_title(name: str) -> str:
    return registry.step(name).title


__all__ = ["Draft", "RecipeError", "SavedDraft", "latest_draft", "saved_drafts", "step_title"]
