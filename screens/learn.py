"""Learn by doing (from Welcome): the course's current step, and the buttons of `deploy-wizard learn`.

Why so small: the learner works in their own terminal on the server (`deploy-wizard sandbox ssh learn`); this
screen shows what to do and what the step's checks say, with the same words and the same saved progress as
the `learn` command (wizard/app/learn), so a learner can switch between the two at any time.
"""

from __future__ import annotations

import getpass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Static

from screens.help import Keys
from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen
from wizard.app.learn import progress as store
from wizard.app.learn.course import HINT_LEVELS, Course
from wizard.app.learn.drills import drill as find_drill
from wizard.app.learn.progress import LearnError, Progress
from wizard.app.learn.texts import compare_text, grade_text, step_text
from wizard.engine.errors import DeployWizardError
from wizard.engine.i18n import _


def learner() -> str:
    return store.learner_name(getpass.getuser().lower())


class LearnScreen(WizardScreen):
    BINDINGS = [Binding("escape", "leave", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.progress: Progress | None = None
        self.course: Course | None = None

    def rebuild(self) -> LearnScreen:
        return LearnScreen()

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(classes="form"):
            yield Static(_("Learn by doing"), id="heading", classes="title")
            yield Static("", id="step", markup=False)
            with Horizontal(classes="row", id="actions"):
                yield Button(_("Check my work"), id="check", variant="primary")
                yield Button(_("Hint"), id="hint")
                yield Button(_("Let the tool do the rest"), id="do")
                yield Button(_("Next step"), id="next")
            yield Button(_("Start a course (boots a practice server; needs root)"), id="start")
            yield Static("", id="result", markup=False, classes="teaching")
        yield Static("", id="message", classes="field-error message", markup=False)
        yield Footer()

    def help_keys(self) -> Keys:
        return [("Tab / Shift+Tab", _("the next / the previous button")), ("Escape", _("Back to Welcome"))]

    def on_mount(self) -> None:
        self.say("")
        try:
            self.progress = store.load(learner())
        except (LearnError, DeployWizardError) as exc:
            self.say(str(exc))
        self.show()

    def say(self, text: str) -> None:
        message = self.query_one("#message", Static)
        message.update(text)
        message.display = bool(text)

    def show(self) -> None:
        """The current step of the saved course, or how to start one."""
        started = self.progress is not None
        self.query_one("#actions").display = started
        self.query_one("#start").display = not started
        if self.progress is None:
            self.query_one("#step", Static).update(_(
                "No course yet. A course boots a practice server, walks the tutorial's steps in order, and grades "
                "what you do by hand with each step's own checks. In a terminal: `deploy-wizard learn`."))
            return
        from wizard.app.recipefile import load

        self.course = Course(load(self.progress.recipe))
        name = self._current()
        ssh = (f"deploy-wizard sandbox ssh {self.progress.sandbox} --user admin" if self.progress.sandbox
               else self.course.teacher.login.ssh())
        self.query_one("#step", Static).update(step_text(self.course.view(name), ssh))

    def _current(self) -> str:
        assert self.progress is not None and self.course is not None
        if self.progress.current not in self.course.names:
            self.progress.go_to(self.course.names[0])
        return self.progress.current

    def action_leave(self) -> None:
        self.wizard_app.pop_screen()

    @on(Button.Pressed, "#start")
    def start_pressed(self) -> None:
        self.say(_("Booting the practice server and its lab (the first time builds its image: about a minute)..."))
        self.boot()

    @work(exclusive=True)
    async def boot(self) -> None:
        import asyncio
        import time

        from wizard.app.learn.course import write_course
        from wizard.lab import sandbox

        try:
            sandbox.check_host()
            info = await asyncio.to_thread(sandbox.up, "learn", lambda m: None, 90, sandbox.DEFAULT_RELEASE, True)
            lab = sandbox.practice.load(sandbox.lab_dir(info.name))
            if lab is None:
                raise LearnError(_("The practice lab did not start beside the sandbox"))
            recipe, _password = write_course(learner(), host=info.ip, key=info.key, git=lab.git_url,
                                             acme=lab.acme_directory)
        except DeployWizardError as exc:
            self.say(str(exc))
            return
        self.progress = Progress(learner(), str(recipe), info.ip, sandbox=info.name, started=time.time())
        store.save(self.progress)
        self.say("")
        self.show()

    @on(Button.Pressed, "#check")
    @work(exclusive=True)
    async def check(self) -> None:
        from wizard.app.learn.session import grade
        from wizard.app.session import Questions

        assert self.progress is not None and self.course is not None
        drill = find_drill(self.progress.drill) if self.progress.drill else None
        name = drill.step if drill else self._current()  # a drill running: its step's checks grade the fix
        self.say(_("Checking..."))
        try:
            result = await grade(self.course.recipe, Questions(), name)
        except DeployWizardError as exc:
            self.say(str(exc))
            return
        if drill:
            self.progress.drill_checked(result.passed)
        else:
            self.progress.checked(name, result.passed, self.course.after(name))
        store.save(self.progress)
        self.say("")
        title = drill.title if drill else self.course.view(name).title
        self.show()
        self.query_one("#result", Static).update(grade_text(result, title))

    @on(Button.Pressed, "#hint")
    @work(exclusive=True)
    async def hint(self) -> None:
        from wizard.app.learn.session import grade
        from wizard.app.session import Questions

        assert self.progress is not None and self.course is not None
        name = self._current()
        level = min(self.progress.step(name).hints + 1, HINT_LEVELS)
        try:
            result = await grade(self.course.recipe, Questions(), name) if level > 1 else None
        except DeployWizardError as exc:
            self.say(str(exc))
            return
        self.progress.hinted(name, level)
        store.save(self.progress)
        lines = [_("Hint {level} of {n}:").format(level=level, n=HINT_LEVELS), *self.course.hint(name, level, result)]
        self.query_one("#result", Static).update("\n".join(lines))

    @on(Button.Pressed, "#do")
    @work(exclusive=True)
    async def do(self) -> None:
        from wizard.app.learn.session import do_rest
        from wizard.app.session import Questions

        assert self.progress is not None and self.course is not None
        name = self._current()
        if self.progress.drill:
            self.say(_("Fix the drill {name} first (`learn check` grades it)").format(name=self.progress.drill))
            return
        self.say(_("The tool is doing the rest of the step..."))
        try:
            before, changes = await do_rest(self.course.recipe, Questions(), name, lambda event: None)
        except DeployWizardError as exc:
            self.say(str(exc))
            return
        self.progress.finished_by_tool(name, self.course.after(name))
        store.save(self.progress)
        self.say("")
        self.show()
        self.query_one("#result", Static).update(compare_text(before, changes))

    @on(Button.Pressed, "#next")
    def next_pressed(self) -> None:
        assert self.progress is not None and self.course is not None
        self.progress.go_to(self.course.after(self._current()))
        store.save(self.progress)
        self.show()
        self.query_one("#result", Static).update("")
