"""What every step screen shows: the form(s), and beside them why, the plan preview, how to verify, and
what to do when it fails. Which steps a screen holds, and its title, is a page of the flow table
(screens.flow), so one class draws every step screen, a plugin step's included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Footer, Static, Switch, TabbedContent, TabPane

from screens.flow import Page
from screens.form import FormSwitch, SettingsForm, field_name
from screens.help import Keys, choice_keys, general_keys, scroll_keys, switch_keys
from screens.said import Said, SaidButton
from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen, fixing_text
from wizard.app import registry
from wizard.app.preview import preview
from wizard.app.recipefile import RecipeError, operator_chose
from wizard.app.teach import Teacher, change_lines, verify_lines
from wizard.engine.i18n import _
from wizard.engine.options import validate
from wizard.engine.step import Context, PutFile

if TYPE_CHECKING:
    from wizard.app.draft import Draft


# The side pane's tabs, each title said in the current language (F2 says them again).
TAB_TITLES = {"tab-why": lambda: _("Why"), "tab-plan": lambda: _("Plan"), "tab-verify": lambda: _("Verify"),
              "tab-fails": lambda: _("If it fails")}


class StepScreen(WizardScreen):
    """F2 says every word again in place (Said widgets, relabel()): never drawn anew, so the focus, a field's
    message and the side pane's tab and scroll stay where they were."""

    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page

    @property
    def draft(self) -> Draft:
        return self.wizard_app.draft

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Said(self.page.title, classes="title")
        fixing = self.wizard_app.fixing
        if fixing is not None and fixing.step in self.page.steps:
            yield Said(lambda: fixing_text(registry.step(fixing.step).label(), fixing.error), id="fixing",
                       classes="fixing", markup=False)
        with Horizontal(classes="columns"):
            with VerticalScroll(classes="form"):
                for name in self.page.steps:
                    step = registry.step(name)
                    yield Said(step.label, classes="section-title", id=f"title-{name}")
                    with Horizontal(classes="status"):
                        yield FormSwitch(value=name in self.draft.enabled, id=f"use-{name}")
                        yield Said(lambda: _("include this step"), classes="field-label")
                    left_out = Said(lambda: _("Left out: the recipe skips it. Typing an answer below includes it."),
                                    id=f"left-out-{name}", classes="field-hint")
                    left_out.display = name not in self.draft.enabled
                    yield left_out
                    yield SettingsForm(step.Settings, self.draft.values(name), prefix=name,
                                       active=name in self.draft.enabled)
            teacher = Teacher.for_draft(self.draft)  # the teaching with this draft's names
            with TabbedContent(classes="side"):
                with TabPane(TAB_TITLES["tab-why"](), id="tab-why"):
                    with VerticalScroll():
                        yield Static(self._why(teacher), id="why", classes="teaching")
                with TabPane(TAB_TITLES["tab-plan"](), id="tab-plan"):
                    with VerticalScroll():
                        yield Static("", id="plan", classes="preview", markup=False)
                with TabPane(TAB_TITLES["tab-verify"](), id="tab-verify"):
                    with VerticalScroll():
                        yield Static(self._verify(teacher), id="verify", classes="teaching", markup=False)
                with TabPane(TAB_TITLES["tab-fails"](), id="tab-fails"):
                    with VerticalScroll():
                        yield Static(self._troubleshoot(teacher), id="fails", classes="teaching", markup=False)
        with Horizontal(classes="buttons"):
            yield SaidButton(lambda: _("Back"), id="back")
            yield SaidButton(lambda: _("Next"), id="next", variant="primary")
        yield Footer()

    def relabel(self) -> None:
        """F2: the side pane's tab titles, its teaching and the plan in the language now chosen (the rest is Said,
        and each form says its messages again itself)."""
        tabs = self.query_one(TabbedContent)
        for pane, title in TAB_TITLES.items():
            tabs.get_tab(pane).label = title()
        self.refresh_plan()
        self.refresh_teaching()

    def on_mount(self) -> None:
        self.refresh_plan()
        fixing = self.wizard_app.fixing
        if fixing is not None and fixing.step in self.page.steps:  # the failure and its fixes first
            # set once mounted: as TabbedContent(initial=...), a screen left at once raced its tabs' mounting
            self.query_one(TabbedContent).active = "tab-fails"
        if fixing is not None and fixing.step in self.page.steps[1:]:  # its section on top, where its field is
            section = self.query_one(f"#title-{fixing.step}")
            self.call_after_refresh(lambda: section.scroll_visible(top=True, animate=False))

    def help_keys(self) -> Keys:
        """The side pane first: what a beginner misses is that it has tabs and scrolls (the commands, whole files)."""
        tab, *rest = general_keys()
        return [tab, ("← / →", _("the side pane's tabs (Why, Plan, Verify, If it fails): Tab to them after the "
                                 "fields")),
                *scroll_keys(_("scroll the form from a field; the side pane scrolls too: Tab once more after its "
                               "tabs")),
                *rest, *switch_keys(), *choice_keys()]

    def first_field(self) -> Widget:
        """Where typing starts: the first field of the first step included here (the step that failed, when
        fixing one), else the first step's include switch."""
        fixing = self.wizard_app.fixing
        names = [name for name in self.page.steps if name in self.draft.enabled]
        if fixing is not None and fixing.step in names:
            names.remove(fixing.step)
            names.insert(0, fixing.step)
        for name in names:
            fields = [widget for widget in self.query_one(f"#form-{name}", SettingsForm).query("Input, Switch, Select")
                      if widget.focusable]
            if fields:
                return fields[0]
        return self.query_one(f"#use-{self.page.steps[0]}", Switch)

    def _why(self, teacher: Teacher) -> str:
        lessons = [teacher.lesson(registry.step(name)) for name in self.page.steps]
        return "\n\n".join(f"[b]{escape(lesson.title)}[/b]\n{escape(lesson.why)}" for lesson in lessons)

    def _verify(self, teacher: Teacher) -> str:
        parts = []
        for name in self.page.steps:
            lesson = teacher.lesson(registry.step(name))
            parts.append("\n".join([lesson.title, *verify_lines(lesson, teacher.login)]))
        return "\n\n".join(parts)

    def _troubleshoot(self, teacher: Teacher) -> str:
        """The common failures and their fixes; first, when fixing a failed run here, what that run said."""
        fixing = self.wizard_app.fixing
        parts = [_("The last run said:") + "\n" + fixing.error] if fixing and fixing.step in self.page.steps else []
        for name in self.page.steps:
            for symptom, fix in teacher.lesson(registry.step(name)).troubleshoot:
                parts.append(f"» {symptom}\n  {fix}")
        return "\n\n".join(parts)

    def refresh_teaching(self) -> None:
        """The teaching tabs again, with the names typed so far (the domain, the app user...)."""
        teacher = Teacher.for_draft(self.draft)
        self.query_one("#why", Static).update(self._why(teacher))
        self.query_one("#verify", Static).update(self._verify(teacher))
        self.query_one("#fails", Static).update(self._troubleshoot(teacher))

    def refresh_plan(self) -> None:
        """The exact commands and files for the values typed so far, on a fresh server (secrets masked); each `$`
        line as typed in a shell on the server by the recipe's login (teach.as_typed: sudo where root is needed)."""
        lines: list[str] = []
        try:
            ctx = self.draft.recipe(across=False).context()
        except RecipeError:  # an incomplete draft still previews, with the app name it has
            ctx = Context(app=self.draft.name)
        login = Teacher.for_draft(self.draft).login
        for name in self.page.steps:
            step = registry.step(name)
            lines.append(f"== {step.label()}")
            if name not in self.draft.enabled:
                lines.append("  " + _("(not included)"))
                continue
            settings, errors = validate(step.Settings, self.draft.values(name))
            if settings is None:
                lines.append("  " + _("(complete the fields to see the plan)"))
                continue
            changes, notes, error = preview(step, settings, ctx)
            for change in changes:
                first, *then = change_lines(change, login)
                lines += [f"+ {change.why}", f"    {first}"]
                if isinstance(change, PutFile) and not change.secret:  # the whole file: the tab scrolls
                    lines += ["      " + line for line in change.content.decode("utf-8", "replace").splitlines()]
                lines += [f"    {line}" for line in then]
            if error:
                lines.append("✗ " + error)  # an error: `!` marks a warning only
            if not changes and not error:
                lines.append("  " + _("nothing to do"))
        lines.append("")
        lines.append(_("(on a fresh Debian 13 server; the Review screen plans against the real one)"))
        lines.append(_("Each $ line runs as typed in a shell on the server: {ssh}").format(ssh=login.ssh()))
        self.query_one("#plan", Static).update("\n".join(lines))

    def on_settings_form_changed(self, event: SettingsForm.Changed) -> None:
        """An answer typed into a step left out includes it, and says so. Why not disabled fields: the operator
        came to this form to fill it in; a field that takes no typing looks broken, and one that takes it and
        drops it (as before) loses work without a word. The switch turns on where they can see it, and the plan
        beside it shows what the step now does; nothing runs before the Review's Run.

        A setting the goals fill in, edited here, becomes the operator's own (goals.own): kept as set, even when
        it is set back to its default (fail2ban off on a public site). A text box emptied follows the goals
        again, as `--reset` does."""
        name = event.form.prefix
        field = event.field
        if field is not None and event.form.answers().get(field) != event.form.opened.get(field):
            operator_chose(self.draft.steps, f"{name}.{field}")
        elif field is not None and field not in event.form.values and not isinstance(
                event.form.query_one(f"#{name}-{field}"), Switch):
            operator_chose(self.draft.steps, f"{name}.{field}", mine=False)
        if name not in self.draft.enabled and event.form.edited:
            self.query_one(f"#use-{name}", Switch).value = True  # on_switch_changed includes it
            self.notify(_("“{step}” is now included: you typed one of its answers. Switch it off to leave it "
                          "out.").format(step=registry.step(name).label()))
        self.set_timer(0.25, self.refresh_plan)
        self.set_timer(0.25, self.refresh_teaching)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        if event.switch.id and event.switch.id.startswith("use-"):
            name = event.switch.id.removeprefix("use-")
            (self.draft.enabled.add if event.value else self.draft.enabled.discard)(name)
            self.query_one(f"#form-{name}", SettingsForm).set_active(event.value)
            self.query_one(f"#left-out-{name}").display = not event.value
            self.refresh_plan()
            self.refresh_teaching()

    @on(Button.Pressed, "#back")
    def go_back(self) -> None:
        self.wizard_app.previous_screen()

    @on(Button.Pressed, "#next")
    def go_next(self) -> None:
        """On only when every included step's fields are valid (each form shows its own messages)."""
        invalid = [form for form in self.query(SettingsForm)
                   if form.prefix in self.draft.enabled and not form.check()]
        if invalid:
            spec, widget = invalid[0].first_invalid() or (None, None)
            if spec is None or widget is None:  # pragma: no cover - an invalid form has a field with a message
                return
            widget.focus()  # scrolled into view, wherever the form was
            self.notify(_("Fix the fields marked in red first (or leave the step out): {field} ({step}).").format(
                field=field_name(spec), step=registry.step(invalid[0].prefix).label()), severity="error")
            return
        self.wizard_app.next_screen()
