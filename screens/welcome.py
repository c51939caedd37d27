"""Welcome: start a new recipe, go on with a draft, open a saved recipe, or practise on a sandbox server."""

from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, OptionList
from textual.widgets.option_list import Option

from screens.help import Keys
from screens.said import Said, SaidButton, Say
from screens.title_bar import TitleBar
from screens.wizard_screen import WizardScreen
from wizard.engine.i18n import _


class WelcomeScreen(WizardScreen):
    """F2 says every word again in place (Said, SaidButton): never drawn anew, so a path typed, a message and a
    practice server booting stay. A text added here follows F2 only as a Said or a SaidButton."""

    def compose(self) -> ComposeResult:
        from wizard.app.draftfiles import saved_drafts

        yield TitleBar()
        with VerticalScroll(classes="form"):
            yield Said(lambda: _("Welcome to deploy-wizard"), classes="title")
            yield Said(lambda: _(
                "This wizard sets up a fresh Linux server for a Python web app: updates, a deploy user, Python, your "
                "code, a database, nginx with gunicorn, HTTPS, a firewall and monitoring. Every step explains why, "
                "shows the exact commands before they run, and the answers are saved as a recipe file that replays "
                "on other servers."), id="intro", classes="teaching")
            with Horizontal(classes="row"):
                yield SaidButton(lambda: _("New recipe"), id="new", variant="primary")
                yield SaidButton(lambda: _("Practise on a sandbox server (needs root)"), id="sandbox")
                yield SaidButton(lambda: _("Learn by doing"), id="learn")
            self.drafts = saved_drafts()
            self.set_class(bool(self.drafts), "-returning")  # app.tcss: the checklist in view at 80x24
            if self.drafts:
                yield Said(lambda: _("Go on with a draft (Enter opens it):"), classes="field-label")
                yield OptionList(*(Option(describe(d.name, d.host, d.modified), id=str(n))
                                   for n, d in enumerate(self.drafts)), id="drafts")
            yield Said(lambda: _("Open a recipe or draft file:"), classes="field-label")
            with Horizontal(classes="row"):
                yield Input(placeholder="recipe.yaml", id="path")
                yield SaidButton(lambda: _("Open"), id="open")
            yield Said(checklist, id="checklist", classes="teaching", markup=False)
        # below the scrolling part, above the footer: in view however many drafts push the rest down
        yield Said(lambda: "", id="message", classes="field-error message", markup=False)
        yield Footer()

    def help_keys(self) -> Keys:
        drafts = [("↑ / ↓", _("choose a draft in the list; Enter opens it"))] if self.drafts else []
        return [("Tab / Shift+Tab", _("the next / the previous field or button")),
                ("Enter", _("on a button: press it; in the file field: open that file")), *drafts]

    def on_mount(self) -> None:
        self.say("")

    def say(self, text: str | Say) -> None:
        """A message under the form (a file that does not open, the sandbox booting): always in view. Given as a
        way to say it (a function), F2 says it again in the other language."""
        message = self.query_one("#message", Said)
        message.say = text if callable(text) else lambda: text
        message.relabel()
        message.display = bool(message.say())

    @on(OptionList.OptionSelected, "#drafts")
    def draft_chosen(self, event: OptionList.OptionSelected) -> None:
        self._open(str(self.drafts[int(event.option.id or 0)].path))

    @on(Input.Submitted, "#path")
    def path_submitted(self, event: Input.Submitted) -> None:
        event.prevent_default()  # Enter here opens the file (not the next field)
        self._open(event.value.strip())

    @on(Button.Pressed, "#new")
    def new_recipe(self) -> None:
        from wizard.app.draft import Draft

        self.wizard_app.draft = Draft()
        self.wizard_app.next_screen()

    @on(Button.Pressed, "#open")
    def open_pressed(self) -> None:
        self._open(self.query_one("#path", Input).value.strip())

    @on(Button.Pressed, "#learn")
    def learn_pressed(self) -> None:
        from screens.learn import LearnScreen

        self.wizard_app.push_screen(LearnScreen())

    @on(Button.Pressed, "#sandbox")
    def sandbox_pressed(self) -> None:
        self._sandbox()

    def _open(self, text: str) -> None:
        from wizard.app.draft import Draft
        from wizard.app.recipefile import RecipeError

        path = Path(text).expanduser()
        if not text or not path.exists():
            self.say(lambda: _("No such file: {path}").format(path=text or "-"))
            return
        try:
            self.wizard_app.draft = Draft.load(path)
        except (RecipeError, OSError, ValueError) as exc:
            self.say(str(exc))
            return
        self.wizard_app.next_screen()

    def _sandbox(self) -> None:
        from wizard.lab import sandbox

        try:
            sandbox.check_host()
        except sandbox.SandboxError as exc:
            self.say(str(exc))
            return
        self.say(lambda: _("Booting a sandbox server (the first time builds its image: about a minute)..."))
        self.run_worker(self._boot(), exclusive=True)

    async def _boot(self) -> None:
        import asyncio

        from wizard.lab import sandbox

        try:
            info = await asyncio.to_thread(sandbox.up, None, lambda m: None)
        except sandbox.SandboxError as exc:
            self.say(str(exc))
            return
        from wizard.app.draft import Draft

        self.wizard_app.sandboxes.append(info)  # quitting offers to stop it, wherever the operator is by then
        self.notify(sandbox_text(info.name, info.ip), timeout=15)
        if self.wizard_app.screen is not self:  # they went on with another recipe while it booted: theirs stays
            return
        draft = Draft(name="demo")
        draft.target = {"host": info.ip, "port": info.port, "user": "admin", "key": info.key,
                        "host_key": info.fingerprint}
        self.wizard_app.draft = draft
        self.wizard_app.next_screen()


def checklist() -> str:
    """What a new recipe asks for that only the operator has: said before the first question, not at it."""
    items = [_("the app's git URL (https://… or git@…), reachable from the server"),
             _("its dependency list (requirements.txt, pyproject.toml, uv.lock or poetry.lock)"),
             _("its WSGI/ASGI entry point as module:variable, e.g. app:app"),
             _("a DNS name pointing at the server, for nginx and HTTPS"),
             _("an SSH login to the server with sudo, or root")]
    return _("Before you start, have at hand:") + "\n" + "\n".join(f"• {item}" for item in items)


def sandbox_text(name: str, ip: str) -> str:
    """What the practice server is called and how it goes: it outlives the wizard, until it is removed."""
    return _("Practice server {name} is up at {ip}. It keeps running until `deploy-wizard sandbox down {name}` "
             "removes it (quitting the wizard offers to).").format(name=name, ip=ip)


def describe(name: str, host: str, modified: float) -> str:
    """One draft in the list: the app, the server, when it was last saved."""
    return f"{name} · {host or '-'} · {time.strftime('%Y-%m-%d %H:%M', time.localtime(modified))}"
