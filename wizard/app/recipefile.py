"""The recipe file: YAML the operator can read, review, keep in git and replay.

Why these rules: `version:` lets the format evolve; every step's settings come from the step's own model,
so the file, the TUI forms and the JSON Schema agree; secrets are only references (`env:NAME`,
`file:PATH`, `prompt`), so the file can be shared; writes are atomic, so a crash never leaves half a file;
errors name the line and the field, because "validation error" alone helps nobody at 3 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from wizard.app import registry
from wizard.app.rules import broken
from wizard.engine import safe_yaml
from wizard.engine.commands import Secret
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.fsutil import UnreadableFile, atomic_write_text, read_text_file
from wizard.engine.i18n import _
from wizard.engine.intent import Intent
from wizard.engine.options import FieldSpec, field_specs
from wizard.engine.step import Context, Step, StepSettings
from wizard.engine.validators import (
    PlainTextModel,
    Prompted,
    SecretRef,
    UserName,
    server_address,
    validation_message,
)

FORMAT_VERSION = 1
APP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")


def host_name(value: str) -> str:
    return server_address(value)


def fingerprint(value: str) -> str:
    if not _FINGERPRINT.fullmatch(value):
        raise ValueError(_("a host key must be pinned as its SHA256 fingerprint, e.g. SHA256:abc... (43 characters)"))
    return value


SUDO_PROMPT = Prompted("sudo password for {user}@{host}", (
    "The password sudo asks of {user} on the server. Kept in memory for the plan and the run only, fed to sudo on "
    "its input; never written anywhere."))


class Target(PlainTextModel):
    model_config = ConfigDict(extra="forbid")

    host: Annotated[str, AfterValidator(host_name)] = Field(description="Host name or IP address of the server.")
    port: int = Field(22, ge=1, le=65535, description="SSH port.")
    user: UserName | None = Field(None, description="Login user; empty = from ~/.ssh/config or your local name.")
    key: str | None = Field(None, description="Private key file; empty = ssh-agent and ~/.ssh defaults.")
    host_key: Annotated[str, AfterValidator(fingerprint)] | None = Field(None, description=(
        "Pinned SHA256 fingerprint of the server's host key; any other key stops the run."))
    sudo_password: Annotated[SecretRef, SUDO_PROMPT] | None = Field(None, description=(
        "Where the sudo password comes from when the user is not root and sudo asks for one."))


def _steps_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        step.name: (step.Settings | None, Field(None, description=step.title)) for step in registry.steps()
    }
    return create_model("Steps", __config__=ConfigDict(extra="forbid"), **fields)


Steps = _steps_model()


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = Field(FORMAT_VERSION, description="Recipe format version.")
    name: Annotated[str, Field(pattern=APP_NAME.pattern)] = Field(
        "app", description="Short name of the app (used for directories, services and journal names).")
    target: Target
    steps: Steps = Field(default_factory=Steps)  # type: ignore[valid-type]

    def context(self, secrets: Callable[[str, str], Secret] | None = None) -> Context:
        """What every step may know about the others: the app, its user, the SSH port in use, the secrets."""
        others = {step.name: settings for step, settings in self.selected()}
        deploy_user = others.get("deploy_user")
        steps = {step.name: step for step, _settings in self.selected()}
        return Context(app=self.name, user=getattr(deploy_user, "name", None) or "deploy",
                       ssh_port=self.target.port, others=others, steps=steps, secrets=secrets)

    def selected(self) -> list[tuple[Step, StepSettings]]:
        """Steps present in the file, in the order a server is built."""
        chosen = []
        for step in registry.steps():
            settings = getattr(self.steps, step.name)
            if settings is not None:
                chosen.append((step, settings))
        return chosen


class RecipeError(DeployWizardError):
    """A recipe file that cannot be used; `problems` are (line, field, message) for the operator."""

    exit_code = ExitCode.BAD_INPUT
    bare = True  # every line already starts with the file (and line) it is about

    def __init__(self, path: Path | str, problems: list[tuple[int | None, str, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        out = []
        colon = _(": ", context="before what it introduces")  # "：" in Chinese, as the other errors have it
        for line, field, message in self.problems:
            where = f"{self.path}:{line}" if line else self.path
            out.append(f"{where}{colon}{field + colon if field else ''}{message}")
        return "\n".join(out)


def _line_map(node: yaml.Node | None, path: tuple[Any, ...] = (), out: dict | None = None) -> dict:
    """Map every key path in the document to the 1-based line where it stands."""
    out = {} if out is None else out
    if node is None:
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):  # `? [a, b]: x`: no setting's name; the loader refuses it
                continue
            child = path + (key.value,)
            out[child] = key.start_mark.line + 1
            _line_map(value, child, out)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, path + (index,), out)
    return out


def _unknown_setting() -> str:
    return _("unknown setting (check the spelling; `deploy-wizard schema` lists them all)")


def _message(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and len(loc) == 2 and loc[0] == "steps":
        # a step of a package that is not installed (or a typo): say which steps there are
        return _("no step named {name} is installed (installed: {names})").format(
            name=loc[1], names=", ".join(registry.by_name()))
    if error["type"] == "extra_forbidden":
        return _unknown_setting()
    return validation_message(error)


def yaml_error(path: Path | str, exc: yaml.YAMLError) -> RecipeError:
    """A YAML error of a recipe or draft as a RecipeError naming the line: malformed, or refused by a limit."""
    line, why = safe_yaml.where(exc)
    if isinstance(exc, safe_yaml.YAMLLimitError):
        return RecipeError(path, [(line, "", _("refused: {why}").format(why=why))])
    return RecipeError(path, [(line, "", _("not valid YAML: {why}").format(why=why))])


def parse(text: str, path: Path | str = "<recipe>", *, across: bool = True) -> Recipe:
    """The recipe in `text`, validated: its shape, every step's settings and (`across`) the checks across steps
    (wizard.app.rules); RecipeError names the line and the field of each problem."""
    try:
        lines = _line_map(safe_yaml.compose(text))
        data = safe_yaml.load(text)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None
    if not isinstance(data, dict):
        raise RecipeError(path, [(1, "", _("a recipe file is a YAML mapping starting with 'version: 1'"))])
    if "version" not in data:
        raise RecipeError(path, [(1, "version", _("the file has no version line: start it with 'version: {v}'").format(
            v=FORMAT_VERSION))])
    if type(data["version"]) is not int or data["version"] != FORMAT_VERSION:  # true == 1.0 == 1 in Python
        raise RecipeError(path, [(lines.get(("version",), 1), "version", _(
            "this program reads recipe format version {v}; the file says {got!r}").format(
                v=FORMAT_VERSION, got=data.get("version")))])
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = None
            for cut in range(len(loc), -1, -1):  # the deepest part of the path that exists in the file
                if loc[:cut] in lines:
                    line = lines[loc[:cut]]
                    break
            problems.append((line, ".".join(str(p) for p in loc), _message(error)))
        raise RecipeError(path, problems) from None
    if across:
        check_across(recipe, path, lines)
    return recipe


def check_across(recipe: Recipe, path: Path | str, lines: dict | None = None) -> None:
    """RecipeError for every check across steps the recipe breaks (wizard.app.rules), at the step's line."""
    problems = [((lines or {}).get(("steps", step)), f"steps.{step}", why)
                for step, why in broken(step.name for step, _settings in recipe.selected())]
    if problems:
        raise RecipeError(path, problems)


def load(path: Path | str) -> Recipe:
    try:
        text = read_text_file(path)
    except UnreadableFile as exc:
        raise RecipeError(path, [(None, "", _("cannot read the file: {why}").format(why=exc))]) from None
    return parse(text, path)


HEADER = """\
# deploy-wizard recipe. Replay with: deploy-wizard apply {file}
# Secrets are references only (env:NAME, file:/path, prompt); the values never live in this file.
"""


def _explicit_nulls(model: BaseModel, data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a dump without None values) with the None values that differ from their field's default put back:
    `requirements: null` (install no requirements file) must not come back as the default requirements.txt."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel) and isinstance(data.get(name), dict):
            _explicit_nulls(value, data[name])
        elif value is None and name in model.model_fields_set and \
                info.get_default(call_default_factory=True) is not None:
            data[name] = None
    return data


def dump(recipe: Recipe) -> str:
    return safe_yaml.dump(_explicit_nulls(recipe, recipe.model_dump(mode="json", exclude_none=True)))


def save(recipe: Recipe, path: Path | str) -> None:
    path = Path(path)
    atomic_write_text(path, HEADER.format(file=path.name) + dump(recipe), mode=0o644, keep_mode=True)


def _setting(data: dict[str, Any], path: str) -> tuple[dict[str, Any], FieldSpec] | str:
    """Where `--set`/`--reset` PATH lives in the recipe's data (the section, created when absent, and the field's
    spec), or why it names no setting. `name` is the recipe's own field."""
    parts = path.strip().split(".")
    if parts == ["name"]:
        return data, next(s for s in field_specs(Recipe) if s.name == "name")
    if parts[0] == "target" and len(parts) == 2:
        model, section = Target, data.setdefault("target", {})
    elif len(parts) == 2 and parts[0] in registry.by_name():
        model, section = registry.step(parts[0]).Settings, data.setdefault("steps", {}).setdefault(parts[0], {})
    else:
        return _unknown_setting()
    spec = next((s for s in field_specs(model) if s.name == parts[1]), None)
    return (section, spec) if spec is not None else _unknown_setting()


def _apply_set(data: dict[str, Any], item: str, resets: list[str]) -> tuple[str, str] | None:
    """Put one `--set PATH=VALUE` into the data; (what, why) when it cannot be."""
    path, sep, text = item.partition("=")
    if not sep or not path.strip():
        return item, _("use --set step.field=value, e.g. --set os_updates.timezone=UTC")
    path = path.strip()
    if not text.strip():  # an empty value used to put the default back without a word (an unpinned host key)
        return path, _("an empty value is refused, so that nothing changes by accident; to put the setting back "
                       "to its default, say so: --reset {path}").format(path=path)
    if path in resets:
        return path, _("both --set and --reset: choose one")
    found = _setting(data, path)
    if isinstance(found, str):
        return path, found
    section, spec = found
    bracketed = text.strip()[:1] + text.strip()[-1:] in ("[]", "{}")
    if spec.syntax() and bracketed:  # YAML's [a, b] read as text is one value "[a" (and "b]"): say how to type it
        return path, _("type it without brackets, {syntax}").format(syntax=spec.syntax())
    try:
        section[spec.name] = spec.parse(text)
    except ValueError as exc:  # not a yes/no for a yes/no field
        return path, str(exc)
    return None


def _apply_reset(data: dict[str, Any], path: str) -> tuple[str, str] | None:
    """Take one `--reset PATH` out of the data, so the model's default applies; (what, why) when it cannot be."""
    found = _setting(data, path)
    if isinstance(found, str):
        return path, found
    section, spec = found
    section.pop(spec.name, None)
    return None


def operator_chose(steps: dict[str, dict[str, Any]], setting: str, mine: bool = True) -> None:
    """The operator set `setting` (`step.field`) themselves (a form, --set), or put it back (`mine` false,
    --reset): every intent step among `steps` (raw values by step name) that fills it records whether it is the
    operator's, so that a chosen value is kept even where it is the default."""
    for name, values in steps.items():
        step = registry.by_name().get(name)
        if isinstance(step, Intent) and isinstance(values, dict):
            step.choose(values, setting, mine)


def with_overrides(recipe: Recipe, overrides: list[str], resets: list[str] | None = None) -> Recipe:
    """Apply `--set step.field=value` (or `target.field=value`, `name=value`) and `--reset step.field` (back to
    the default), and validate the result. A setting the goals fill in that is given with --set is named in
    goals.own, so the value given is kept even where it is the default (`--set firewall.fail2ban=false`); a
    --reset of one takes it out of goals.own, so it follows the goals again.

    The value is read the way the wizard reads a text box (lists comma-separated, KEY=VALUE pairs for maps),
    so one declaration serves the TUI, the plain prompts and the command line. An empty value is refused:
    `--set target.host_key=` would otherwise unpin the host key and `--set tls.acme_server=` switch to the
    production CA, without a word; going back to a default takes `--reset`, which says what it does.
    """
    resets = [path.strip() for path in resets or []]
    # what the file set, an explicit null included (requirements: null must not turn back into the default)
    data = recipe.model_dump(mode="json", exclude_unset=True)
    problems: list[tuple[int | None, str, str]] = []
    for path in resets:
        problem = _apply_reset(data, path)
        if problem:
            problems.append((None, *problem))
        else:  # back to its default: a setting the goals fill follows them again
            operator_chose(data.get("steps", {}), path, mine=False)
    for item in overrides:
        problem = _apply_set(data, item, resets)
        if problem:
            problems.append((None, *problem))
        else:  # a --set is the operator's choice: the goals keep it even at its default value (goals.own)
            operator_chose(data.get("steps", {}), item.partition("=")[0].strip())
    flags = "--set/--reset" if resets else "--set"
    if problems:
        raise RecipeError(flags, problems)
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(flags, [(None, ".".join(str(p) for p in e["loc"]), _message(e))
                                  for e in exc.errors()]) from None
    check_across(recipe, flags)
    return recipe


def setting_value(recipe: Recipe, path: str) -> Any:
    """The value of `step.field`, `target.field` or `name` in a recipe (None when its step is not selected)."""
    parts = path.strip().split(".")
    holder: Any = recipe if parts == ["name"] else (
        recipe.target if parts[0] == "target" else getattr(recipe.steps, parts[0], None))
    return getattr(holder, parts[-1], None)


def json_schema() -> dict[str, Any]:
    schema = Recipe.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "deploy-wizard recipe"
    return schema
