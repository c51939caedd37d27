"""The hostile-value corpus (issue 17): every field of the recipe's JSON Schema, fed every hostile value, three ways.

Why from the schema: the schema is what editors and CI validate against and what `deploy-wizard schema` prints, so
a field added to any step's settings (or to the target) is in it at once. `schema_fields` walks it; a field whose
type the corpus cannot feed (a nested model, say) is reported by `uncovered`, and tests/test_hostile_corpus.py
fails on it, so no new field escapes the corpus.

The three modes are the three ways a value reaches the loader:
- `yaml`: the recipe as a careful writer saves it (the value quoted and escaped by a YAML dumper);
- `raw`: the value typed into the file by hand, unquoted, so it is read as YAML (tags, anchors, flow
  collections, comments, a line break that starts a new key);
- `set`: `--set PATH=VALUE` on the command line, read as a form field is read.

Each case ends in one outcome: `rejected` (a RecipeError naming the line, or the field for --set), `accepted` (the
value passed validation, the saved recipe reads back the same, and every step's plan on a fresh server quotes
it in every command), or one of the failures the issue counts: `traceback`, `hang`, and `unclear` (refused
without naming where), `suspect` (accepted and found outside single quotes in a command line, or not reading
back). bench/hostile_corpus.py runs it all; the unit test runs a sample.
"""

from __future__ import annotations

import copy
import shlex
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from tests.conftest import HOSTILE
from wizard.app.preview import placeholder_secret, preview
from wizard.app.recipefile import Recipe, RecipeError, dump, json_schema, parse, setting_value, with_overrides
from wizard.engine import safe_yaml
from wizard.engine.errors import DeployWizardError
from wizard.engine.step import PutFile, RunCommand

ROOT = Path(__file__).resolve().parent.parent
BASE_TEXT = (ROOT / "examples" / "flask-app.yaml").read_text(encoding="utf-8")
MARK = "HOSTILE_VALUE_HERE"


class Outcome(StrEnum):
    REJECTED = "rejected cleanly"
    ACCEPTED = "accepted safely"
    TRACEBACK = "traceback"
    HANG = "hang"
    UNCLEAR = "rejected without naming where"
    SUSPECT = "accepted, suspect"


FAILURES = (Outcome.TRACEBACK, Outcome.HANG, Outcome.UNCLEAR, Outcome.SUSPECT)

# (category, value): strings for every mode; in `raw` mode they are read as YAML, which is where the tags,
# anchors and flow collections among them come alive
STRINGS: list[tuple[str, str]] = [
    *[("shell", v) for v in ("'; rm -rf / #", "$(id)", "`id`", "a|b", "a&&b", "a;b", "x > /etc/passwd", "$HOME",
                             "${IFS}id", "a\\", "\"double\" 'single'", "*?[glob]", "~root", "!event", "%s%n",
                             "{0}{__class__}", "-oProxyCommand=id", "--help", "a b  c")],
    *[("newline", v) for v in ("a\nb", "value\n", "\nvalue", "a\n#comment", "a\n  injected: true",
                               "a\nsteps: {}")],
    *[("carriage return", v) for v in ("a\rb", "value\r", "a\r\nb")],
    *[("nul", v) for v in ("\0", "a\0b", "value\0")],
    *[("tab", v) for v in ("\t", "a\tb", "value\t")],
    *[("control", v) for v in ("\x1b[31mred", "\x7f", "\x85", "a\u2028b", "a\u2029b", "\x08\x08")],
    *[("long", v) for v in ("a" * 300, "a" * 5000, "x" * 70_000, "a." * 200 + "com", ",".join(["p"] * 600),
                            "/" + "/".join(["d"] * 2100))],
    *[("look-alike", v) for v in ("\u0435xample.com", "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
                                  "exa\u200bmple.com", "\u202egnp.exe", "example\u2024com", "\uff12\uff12",
                                  "\u0662\u0662", "\ufb01le", "\u00fcn\u00efc\u00f8d\u00e9 \u4e2d\u6587 \U0001f680",
                                  "\ufeffbom", "\udcff")],
    *[("path traversal", v) for v in ("../../etc/passwd", "/srv/app/../../root", "..", "/etc/shadow",
                                      "/proc/self/environ", "/dev/zero", "file:../../etc/shadow", "file:/dev/zero",
                                      "env:PATH", "~/../../etc", "C:\\Windows", "//server/share")],
    *[("yaml tag or anchor", v) for v in ("!!python/object/apply:os.system ['id']", "!!python/name:os.system",
                                          "&anchor value", "*alias", "<<: *x", "? key", "- item", "{a: 1}",
                                          "[1, 2]", "key: value", "'unterminated", "\"unterminated", "# comment",
                                          "|", "@at", "%TAG ! tag:x", "---", "!!binary aGVsbG8=", "!custom x",
                                          "!!int 7", "!!float nan", "!!set {a}", "!!omap [a: 1]", "null", "~",
                                          "true", "no", "0x1F", "1e3", ".inf", "2001-12-14")],
    *[("empty", v) for v in ("", " ", "   x   ")],
]
# the values tests/test_hostile_settings.py has always fed every text field, so the corpus holds them too
STRINGS += [("earlier audit", v) for v in HOSTILE if v not in {value for _c, value in STRINGS}]

# values of other types, for the `yaml` mode (a dumper writes them as YAML's own numbers, booleans, lists...)
TYPED: list[tuple[str, Any]] = [("type", v) for v in (
    0, -1, 65536, 2**64, 10**400, 1.5, 1.0, float("nan"), float("inf"), True, False, None, [], {}, [[]],
    {"a": {"b": 1}}, ["x"] * 600, [None], [1])]


@dataclass(frozen=True)
class SchemaField:
    path: tuple[str, ...]  # ("target", "host"), ("steps", "os_updates", "packages"), ("name",)
    kind: str  # string, choice, integer, boolean, array, object, or what the corpus cannot feed

    @property
    def dotted(self) -> str:
        """The --set spelling: target.host, os_updates.packages, name."""
        return ".".join(self.path[1:] if self.path[0] == "steps" else self.path)


def _kind(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    kinds = set()
    for option in options:
        if "$ref" in option:
            kinds.add("model " + option["$ref"].rsplit("/", 1)[-1])
        elif "enum" in option or "const" in option:
            kinds.add("choice")
        elif option.get("type") == "array" and option.get("items", {}).get("type") == "string":
            kinds.add("array")
        elif option.get("type") == "object" and option.get("additionalProperties", {}).get("type") == "string":
            kinds.add("object")
        else:
            kinds.add(str(option.get("type")))
    return kinds.pop() if len(kinds) == 1 else " | ".join(sorted(kinds))


def schema_fields() -> list[SchemaField]:
    """Every leaf setting of the recipe file, from `deploy-wizard schema`."""
    schema = json_schema()
    defs = schema["$defs"]

    def model(prop: dict[str, Any]) -> dict[str, Any]:
        ref = next(o["$ref"] for o in prop.get("anyOf", [prop]) if "$ref" in o)
        return defs[ref.rsplit("/", 1)[-1]]

    found = []
    for name, prop in schema["properties"].items():
        if name == "target":
            found += [SchemaField(("target", f), _kind(p, defs)) for f, p in model(prop)["properties"].items()]
        elif name == "steps":
            for step, step_prop in model(prop)["properties"].items():
                found += leaves(("steps", step), model(step_prop), defs, model)
        else:
            found.append(SchemaField((name,), _kind(prop, defs)))
    return found


def leaves(path: tuple[str, ...], holder: dict[str, Any], defs: dict[str, Any],
           model: Any) -> list[SchemaField]:  # noqa: ANN401
    """A step's settings; a setting that is itself a model (goals.resolved) is fed through its own leaves, since
    a hostile file can put anything at any depth."""
    found = []
    for name, prop in holder["properties"].items():
        kind = _kind(prop, defs)
        if kind.startswith("model ") and " | " not in kind:
            found += leaves((*path, name), model(prop), defs, model)
        else:
            found.append(SchemaField((*path, name), kind))
    return found


FED = {"string", "choice", "integer", "boolean", "array", "object"}


def uncovered(fields: list[SchemaField]) -> list[SchemaField]:
    """Fields the corpus cannot feed: a new kind of setting needs a way in here before it ships."""
    return [f for f in fields if f.kind not in FED]


@dataclass(frozen=True)
class Case:
    mode: str  # yaml, raw, set
    field: SchemaField
    slot: str  # "value", "item" of a list, "key" or "value" of a map
    category: str
    value: Any


def slots(field: SchemaField) -> list[str]:
    return {"array": ["item"], "object": ["key", "value"]}.get(field.kind, ["value"])


def cases(fields: list[SchemaField], modes: tuple[str, ...] = ("yaml", "raw", "set")) -> Iterator[Case]:
    for field in fields:
        for slot in slots(field):
            for mode in modes:
                values = STRINGS + TYPED if mode == "yaml" else STRINGS
                for category, value in values:
                    yield Case(mode, field, slot, category, value)


def _base() -> dict[str, Any]:
    return safe_yaml.load(BASE_TEXT)


BASE = _base()


def _placed(case: Case, value: Any) -> Any:
    if case.slot == "item":
        return [value]
    if case.slot == "key":
        return {value: "x"} if isinstance(value, str | int | float | bool) or value is None else value
    if case.slot == "value" and case.field.kind == "object":
        return {"KEY": value}
    return value


def _data_with(case: Case, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    holder = data
    for part in case.field.path[:-1]:
        holder = holder.setdefault(part, {})
    holder[case.field.path[-1]] = _placed(case, value)
    return data


def _set_item(case: Case) -> str:
    value = case.value
    if case.slot == "key":
        return f"{case.field.dotted}={value}=x"
    if case.field.kind == "object":
        return f"{case.field.dotted}=KEY={value}"
    return f"{case.field.dotted}={value}"


def load_case(case: Case) -> Recipe:
    """The recipe the case makes, or RecipeError; any other exception is a bug the corpus found."""
    if case.mode == "yaml":
        return parse(safe_yaml.dump(_data_with(case, case.value)), "corpus.yaml")
    if case.mode == "raw":
        text = safe_yaml.dump(_data_with(case, MARK)).replace(MARK, case.value, 1)
        return parse(text, "corpus.yaml")
    return with_overrides(parse(BASE_TEXT, "corpus.yaml"), [_set_item(case)])


def _named_where(error: RecipeError, case: Case) -> bool:
    """Whether every problem says where it is: a line for a file, the field for --set."""
    if case.mode == "set":
        return all(field for _line, field, _message in error.problems)
    return all(line for line, _field, _message in error.problems)


def _outside_single_quotes(line: str, value: str) -> bool:
    """Whether `value` appears in the shell line anywhere outside single quotes (where the shell would read it)."""
    start = line.find(value)
    while start != -1:
        quoted, escaped, double = False, False, False
        for char in line[:start]:
            if escaped:
                escaped = False
            elif char == "\\" and not quoted:
                escaped = True
            elif char == "'" and not double:
                quoted = not quoted
            elif char == '"' and not quoted:
                double = not double
        if not quoted:
            return True
        start = line.find(value, start + 1)
    return False


SHELL_SIGNIFICANT = set(";&|`$<>(){}*?[]!~# \t\\\"")


def _texts(value: Any) -> list[str]:
    """The strings of a setting's value (a text, a list's items, a map's keys and values)."""
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    else:
        items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def _planned(recipe: Recipe) -> Iterator[tuple[str, Any]]:
    """(step, change) of every step's plan on a fresh server, as the wizard's preview makes it."""
    ctx = recipe.context(placeholder_secret)
    for step, settings in recipe.selected():
        for change in preview(step, settings, ctx)[0]:
            yield step.name, change


def accepted_problem(recipe: Recipe, case: Case) -> str | None:
    """Why an accepted value is not safe (None when it is): it must read back as written, and wherever a plan's
    command or a shell-sourced env file carries it with shell syntax in it, it must stand in single quotes."""
    if parse(dump(recipe), "again.yaml") != recipe:
        return "the saved recipe does not read back the same"
    # a value of one or two characters (";", " ") stands in every script by itself: only longer ones tell
    risky = [t for t in _texts(setting_value(recipe, case.field.dotted))
             if len(t.strip()) > 2 and SHELL_SIGNIFICANT - {" "} & set(t) and "'" not in t]
    for step, change in _planned(recipe):
        if isinstance(change, RunCommand):
            line = change.command.shell()
            try:
                shlex.split(line)
            except ValueError:
                return f"{step}: a command that does not parse: {line[:120]}"
        elif isinstance(change, PutFile) and change.path.endswith(".env") and not change.secret:
            line = change.content.decode("utf-8", "replace")
        else:
            continue
        for text in risky:
            if _outside_single_quotes(line, text):
                return f"{step}: {text!r} outside single quotes in: {line[:160]}"
    return None


def file_mentions(recipe: Recipe, case: Case) -> list[str]:
    """Config files (other than env files) of the plan that hold the accepted value with characters a config
    syntax may read, for a person to review: there is no quoting rule common to all formats."""
    texts = [t for t in _texts(setting_value(recipe, case.field.dotted)) if set(';{}#"\'\\$') & set(t)]
    return [f"{change.path}: {text!r}" for _step, change in _planned(recipe)
            if isinstance(change, PutFile) and not change.secret and not change.path.endswith(".env")
            for text in texts if text.encode() in change.content]


def run_case(case: Case) -> tuple[Outcome, str]:
    """One case, in this process: its outcome and a line saying why."""
    try:
        recipe = load_case(case)
    except RecipeError as exc:
        return (Outcome.REJECTED if _named_where(exc, case) else Outcome.UNCLEAR), str(exc)[:300]
    except DeployWizardError as exc:  # an expected error of another kind: clean, but should it be a RecipeError?
        return Outcome.UNCLEAR, f"{type(exc).__name__}: {exc}"[:300]
    except Exception:  # noqa: BLE001 - what the corpus hunts for
        return Outcome.TRACEBACK, traceback.format_exc()
    try:
        problem = accepted_problem(recipe, case)
    except Exception:  # noqa: BLE001 - a plan that crashes on an accepted value
        return Outcome.TRACEBACK, traceback.format_exc()
    return (Outcome.SUSPECT, problem) if problem else (Outcome.ACCEPTED, "")


def describe(case: Case) -> str:
    return f"{case.mode} {case.field.dotted}[{case.slot}] ({case.category}) {case.value!r:.60}"
