"""The answers typed into the wizard so far: possibly incomplete, never lost.

Why a separate draft: a recipe file must be valid, but half-typed answers are not. The draft keeps raw
values per step, is autosaved (atomically) after every screen, and becomes a validated Recipe only when the
operator runs or saves. Quitting mid-way, or a crash, keeps everything typed up to the last screen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wizard.app import registry
from wizard.app.recipefile import Recipe, RecipeError, parse, save, yaml_error
from wizard.engine import safe_yaml
from wizard.engine.fsutil import atomic_write_text
from wizard.engine.i18n import _
from wizard.engine.sinks import state_dir

DEFAULT_STEPS = ("os_updates", "deploy_user")


@dataclass
class Draft:
    name: str = "app"
    target: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # raw values per step
    enabled: set[str] = field(default_factory=lambda: set(DEFAULT_STEPS))
    path: Path | None = None  # where the recipe file is saved

    @classmethod
    def from_recipe(cls, recipe: Recipe, path: Path | None = None) -> Draft:
        data = recipe.model_dump(mode="json", exclude_none=True)
        steps = data.get("steps", {})
        return cls(name=recipe.name, target=data["target"], steps=dict(steps), enabled=set(steps), path=path)

    @classmethod
    def load(cls, path: Path) -> Draft:
        """A saved recipe file, or a draft file (which may be incomplete)."""
        try:
            text = path.read_text(encoding="utf-8")
            data = safe_yaml.load(text) or {}
        except (OSError, UnicodeDecodeError) as exc:
            raise RecipeError(path, [(None, "", _("cannot read the file: {why}").format(
                why=getattr(exc, "strerror", None) or exc))]) from None
        except yaml.YAMLError as exc:
            raise yaml_error(path, exc) from None
        if isinstance(data, dict) and "draft" in data:
            body = data["draft"]
            if not isinstance(body, dict):
                raise RecipeError(path, [(None, "draft", _("a draft is a mapping of the answers so far"))])
            return cls(name=body.get("name", "app"), target=body.get("target", {}), steps=body.get("steps", {}),
                       enabled=set(body.get("enabled", DEFAULT_STEPS)),
                       path=Path(body["path"]) if body.get("path") else None)
        return cls.from_recipe(parse(text, path), path)

    def values(self, step: str) -> dict[str, Any]:
        return self.steps.setdefault(step, {})

    def data(self) -> dict[str, Any]:
        """The recipe as a plain dict (only enabled steps, in build order)."""
        steps = {s.name: self.steps.get(s.name, {}) for s in registry.steps() if s.name in self.enabled}
        return {"version": 1, "name": self.name, "target": self.target, "steps": steps}

    def recipe(self) -> Recipe:
        """The validated recipe; RecipeError with field paths when something is still missing or wrong."""
        return parse(safe_yaml.dump(self.data()), self.path or "<wizard>")

    def draft_path(self) -> Path:
        key = hashlib.sha256(str(self.path or self.name).encode()).hexdigest()[:8]
        return state_dir() / "drafts" / f"{self.name}-{key}.yaml"

    def autosave(self) -> Path:
        """Every answer so far, valid or not, atomically."""
        path = self.draft_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"name": self.name, "target": self.target, "steps": self.steps, "enabled": sorted(self.enabled),
                "path": str(self.path) if self.path else None}
        atomic_write_text(path, "# deploy-wizard draft (answers in progress)\n"
                          + safe_yaml.dump({"draft": body}), mode=0o600)
        return path

    def save(self, path: Path | None = None) -> Path:
        """Validate and write the recipe file (atomically); raises RecipeError when not valid yet."""
        target = path or self.path or Path(f"{self.name}.yaml")
        save(self.recipe(), target)
        self.path = target
        return target


def step_title(name: str) -> str:
    return registry.step(name).title


__all__ = ["Draft", "RecipeError", "step_title"]
