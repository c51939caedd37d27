"""The plain-terminal front end (questionary): the same questions as the TUI, one after another.

Like screens.app it is a UI shell, so it may import its UI library; the core never does. The questions come
from the same option declarations (wizard.engine.options), are checked by the same models, and the answers become
the same recipe file. Nothing is written until the last answer: Ctrl-C leaves no half-written file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from wizard.app import registry
from wizard.app.draft import ESSENTIAL_STEPS, Draft
from wizard.app.recipefile import APP_NAME, Target, operator_chose
from wizard.app.rules import unmet
from wizard.engine.i18n import _
from wizard.engine.options import FieldKind, FieldSpec, field_specs, validate

Check = Callable[[str], "bool | str"]


class Asker(Protocol):
    def text(self, message: str, default: str, check: Check) -> str: ...
    def confirm(self, message: str, default: bool) -> bool: ...
    def select(self, message: str, choices: list[str], default: str) -> str: ...


class QuestionaryAsker:
    """Real prompts. questionary returns None on Ctrl-C; that becomes KeyboardInterrupt here.

    Its own words are English ("(Y/n)", "(Use arrow keys)"): each prompt says them in the current language, and a
    message is wrapped here to the terminal's width (questionary lets the terminal cut it, inside a word)."""

    def __init__(self, **prompt_options: Any) -> None:
        self.options = prompt_options  # input=/output= for tests

    @staticmethod
    def _answer(value: Any) -> Any:
        if value is None:
            raise KeyboardInterrupt
        return value

    def text(self, message: str, default: str, check: Check) -> str:
        import questionary

        question = questionary.text(fit(message), default=default, validate=_fitted(check), **self.options)
        _tall_errors(question.application)
        return str(self._answer(question.ask()))

    def confirm(self, message: str, default: bool) -> bool:
        import questionary
        from questionary.prompts import confirm

        # the answer it prints back is a module constant ("Yes"/"No"): said in the current language instead
        confirm.YES, confirm.NO = _("Yes"), _("No")  # type: ignore[attr-defined]
        instruction = _("(Y/n) ") if default else _("(y/N) ")
        return bool(self._answer(questionary.confirm(fit(message), default=default, instruction=instruction,
                                                     **self.options).ask()))

    def select(self, message: str, choices: list[str], default: str) -> str:
        import questionary

        return str(self._answer(questionary.select(fit(message), choices=choices, default=default,
                                                   instruction=_("(↑ / ↓, then Enter)"), **self.options).ask()))


def _fitted(check: Check) -> Check:
    """`check` whose refusal is broken into lines between words at the prompt's own width."""

    def fitted(text: str) -> bool | str:
        from prompt_toolkit.application.current import get_app

        verdict = check(text)
        return fit(verdict, get_app().output.get_size().columns) if isinstance(verdict, str) else verdict

    return fitted


def _tall_errors(app: Any) -> None:
    """prompt_toolkit shows a refused answer's reason in a toolbar one line high: the terminal cut it, and a
    reason ("a secret must be a reference: env:NAME, file:/path or prompt (never the secret itself)") lost its
    end. The toolbar grows to the lines of the reason instead."""
    from prompt_toolkit.filters import to_filter

    for window in app.layout.find_all_windows():
        if "ValidationToolbar" in getattr(getattr(window.content, "text", None), "__qualname__", ""):
            window.height = None
            window.wrap_lines = to_filter(True)


def fit(message: str, width: int | None = None) -> str:
    """`message` broken into lines that fit the terminal after questionary's "? " mark: between words (between
    characters in Chinese, never before "，"), never inside a word."""
    import shutil

    from wizard.engine.typeset import wrap

    width = width or shutil.get_terminal_size((80, 24)).columns
    return "\n".join(line for paragraph in message.split("\n") for line in wrap(paragraph, max(20, width - 3)))


def _field_check(model: type[BaseModel], values: dict[str, Any], spec: FieldSpec) -> Check:
    """Validate one answer with the model, reporting only this field's problem."""

    def check(text: str) -> bool | str:
        trial = dict(values)
        try:
            value = spec.parse(text)
        except ValueError as exc:  # text the field cannot read at all (not yes or no)
            return str(exc)
        if value in (None, "", []):
            trial.pop(spec.name, None)
        else:
            trial[spec.name] = value
        _model, errors = validate(model, trial)
        return errors.get(spec.name, True)

    return check


Prompt = Callable[[Asker, FieldSpec, Any, Check], Any]  # (asker, field, current value, check) -> the answer


def question(spec: FieldSpec, ask: str) -> str:
    """A field's prompt: what it is for (its label, and how a list or map is typed), then the question, which
    names the field as the recipe file does. Why: a label is a description ("A system account (no password
    ageing)."); followed by (Y/n) alone it reads as a statement to agree with, not a question to answer."""
    about = _("{label} ({syntax})").format(label=spec.text(), syntax=spec.syntax()) if spec.syntax() else spec.text()
    return about + "\n" + ask.format(name=spec.name)


def _confirm(asker: Asker, spec: FieldSpec, current: Any, check: Check) -> Any:
    return asker.confirm(question(spec, _("{name}: yes or no?")), bool(current))


def _select(asker: Asker, spec: FieldSpec, current: Any, check: Check) -> Any:
    return asker.select(question(spec, _("{name}: which one?")), list(spec.choices), str(current or spec.choices[0]))


def _text(asker: Asker, spec: FieldSpec, current: Any, check: Check) -> Any:
    """Text the field parses (FieldSpec.parse): the same reading as the TUI's text boxes and `--set`."""
    ask = _("{name}? (Enter keeps the answer shown)") if spec.as_text(current) else _("{name}?")
    return spec.parse(asker.text(question(spec, ask), spec.as_text(current), check))


# One prompt per kind of field, like the TUI's widget table (screens.form.WIDGETS); a test checks both are complete.
PROMPTS: dict[FieldKind, Prompt] = {
    FieldKind.BOOL: _confirm,
    FieldKind.CHOICE: _select,
    FieldKind.INT: _text,
    FieldKind.TEXT: _text,
    FieldKind.LIST: _text,
    FieldKind.MAP: _text,
}


def ask_model(asker: Asker, model: type[BaseModel], values: dict[str, Any]) -> None:
    """Ask every field of `model`, default = what is there already; store the answers in `values`."""
    for spec in field_specs(model):
        current = values.get(spec.name, spec.default)
        answer = PROMPTS[spec.kind](asker, spec, current, _field_check(model, values, spec))
        if answer in (None, "", []):
            values.pop(spec.name, None)
        else:
            values[spec.name] = answer


def interview(asker: Asker, draft: Draft) -> Draft:
    def name_check(text: str) -> bool | str:
        return True if APP_NAME.match(text) else _("lower-case letters, digits, - and _, up to 40")

    draft.name = asker.text(_("Short name of the app (directories, services, journals)") + "\n"
                            + _("{name}?").format(name="name"), draft.name, name_check)
    ask_model(asker, Target, draft.target)
    new = draft.path is None or not draft.path.exists()
    for step in registry.steps():
        # a new recipe offers what every Python web app needs switched on; one being edited keeps its choice
        wanted = step.name in draft.enabled or (new and step.name in ESSENTIAL_STEPS)
        if asker.confirm(_("Include the step: {title}?").format(title=step.label()), wanted):
            _ask_step(asker, draft, step.name)
        else:
            draft.enabled.discard(step.name)
    _settle_needs(asker, draft)
    return draft


def _ask_step(asker: Asker, draft: Draft, name: str) -> None:
    """Switch the step on and ask its settings; an answer changed from the one shown is the operator's own."""
    step = registry.step(name)
    draft.enabled.add(name)
    values = draft.values(name)
    specs = field_specs(step.Settings)
    shown = [values.get(spec.name, spec.default) for spec in specs]
    ask_model(asker, step.Settings, values)
    for spec, before in zip(specs, shown, strict=True):
        if values.get(spec.name, spec.default) != before:  # a changed answer is the operator's choice
            operator_chose(draft.steps, f"{name}.{spec.name}")


def _settle_needs(asker: Asker, draft: Draft) -> None:
    """A step taken whose partner was left out (HTTPS without nginx): ask now, with the reason, whether to take
    the partner too (its questions follow) or leave the step out. Why: the file is written only when the recipe
    is whole, and a check across steps found at the end used to refuse it after every answer, losing them all."""
    installed = registry.by_name()
    declined: set[str] = set()  # steps the operator left out: never asked again, and what needs them goes too
    while rules := unmet(draft.enabled):
        rule = rules[0]
        step, needed = installed[rule.step].label(), installed[rule.needed].label()
        ask = _("“{step}” needs “{needed}”: {why}").format(step=step, needed=needed, why=rule.why()) + "\n" + _(
            "Include “{needed}” too (no: leave “{step}” out)?").format(needed=needed, step=step)
        if rule.needed not in declined and asker.confirm(ask, True):
            _ask_step(asker, draft, rule.needed)
        else:
            draft.enabled.discard(rule.step)
            declined.add(rule.step)


def new_plain(output: Path, asker: Asker | None = None) -> Path:
    """Ask everything, then write the recipe file (atomically). Ctrl-C before the end writes nothing."""
    draft = interview(asker or QuestionaryAsker(), Draft(path=output))
    return draft.save(output)
