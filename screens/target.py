"""Target: which server, how to log in, and a connection test that shows what the server is."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Static

from screens.form import SettingsForm, field_name
from screens.help import Keys, general_keys, scroll_keys
from screens.said import Said, SaidButton, Say
from screens.title_bar import TitleBar
from screens.welcome import sandbox_text
from screens.wizard_screen import WizardScreen, fixing_text
from wizard.app.recipefile import APP_NAME, Target
from wizard.engine.i18n import _
from wizard.engine.transports.base import SudoMode, Transport

# One value per line, words left to the screen (in the operator's language): the OS, python3's version (empty
# without one), free and total disk space of /, and the RAM in MiB.
PROBE = ('. /etc/os-release; echo "$PRETTY_NAME"; '
         "if command -v python3 >/dev/null; then python3 --version 2>&1 | head -n 1; else echo; fi; "
         "df -h / | awk 'NR==2{print $4\" \"$2}'; free -m | awk '/Mem:/{print $2}'")


class TargetScreen(WizardScreen):
    """F2 says every word again in place (never drawn anew): a connection test's result, or one under way, stays
    and is said in the language now chosen."""

    def compose(self) -> ComposeResult:
        draft = self.wizard_app.draft
        yield TitleBar()
        yield Said(lambda: _("Target server"), classes="title")
        fixing = self.wizard_app.fixing
        if fixing is not None and fixing.position == 0:
            yield Said(lambda: fixing_text(None, fixing.error), id="fixing", classes="fixing", markup=False)
        with Horizontal(classes="columns"):
            with VerticalScroll(classes="form"):
                yield Said(lambda: _("Short name of the app (directories, services, journals)") + " *",
                           classes="field-label")
                yield Input(value=draft.name, id="app-name")
                yield Static("", id="app-name-error", classes="field-error")
                yield SettingsForm(Target, draft.target, prefix="target")
            with VerticalScroll(classes="side"):
                yield Said(lambda: _(
                    "The wizard logs in with SSH, like you would. Use a user with sudo (or root). The server's host "
                    "key is checked on every connection: the first time you compare its fingerprint, after that any "
                    "change stops the run. Secrets are never typed here, only where they come from (env:NAME, "
                    "file:/path or prompt)."), classes="teaching")
                for info in self.wizard_app.sandboxes[-1:]:  # the practice server this wizard booted
                    yield Said(lambda info=info: sandbox_text(info.name, info.ip), id="sandbox", classes="teaching",
                               markup=False)
                yield SaidButton(lambda: _("Test connection"), id="test")
                yield Said(lambda: "", id="probe", classes="status", markup=False)
        with Horizontal(classes="buttons"):
            yield SaidButton(lambda: _("Back"), id="back")
            yield SaidButton(lambda: _("Next"), id="next", variant="primary")
        yield Footer()

    def relabel(self) -> None:
        """F2: the app name's message in the language now chosen (the rest is Said; the form says its own)."""
        self.check_app_name(self.query_one("#app-name", Input).value)

    def say_probe(self, say: Say) -> None:
        """The connection test's state, kept as a way to say it: F2 says it again, in the other language."""
        probe = self.query_one("#probe", Said)
        probe.say = say
        probe.relabel()

    def help_keys(self) -> Keys:
        return [*general_keys(), *scroll_keys(_("scroll the side pane (Tab to it after the fields)"))]

    @on(Input.Changed, "#app-name")
    def app_name_changed(self, event: Input.Changed) -> None:
        self.check_app_name(event.value)

    def check_app_name(self, value: str) -> bool:
        """The app's name, kept when valid; its message shown when not."""
        ok = bool(APP_NAME.match(value))
        error = self.query_one("#app-name-error", Static)
        error.update("" if ok else _("lower-case letters, digits, - and _, up to 40"))
        error.display = not ok
        if ok:
            self.wizard_app.draft.name = value
        return ok

    @on(Button.Pressed, "#back")
    def go_back(self) -> None:
        self.wizard_app.previous_screen()

    @on(Button.Pressed, "#next")
    def go_next(self) -> None:
        """On when the app's name and the target's fields are valid; else the cursor goes to the first field to
        fix (scrolled into view), and the message names it."""
        form = self.query_one(SettingsForm)
        valid = form.check()
        name = self.query_one("#app-name", Input)
        if self.check_app_name(name.value) and valid:
            self.wizard_app.next_screen()
            return
        widget: Widget = name
        label = _("Short name of the app (directories, services, journals)").split("(")[0].split("（")[0].strip()
        if APP_NAME.match(name.value):
            spec, widget = form.first_invalid() or (None, name)
            label = field_name(spec) if spec is not None else label
        widget.focus()
        self.notify(_("Fix the fields marked in red first: {field}.").format(field=label), severity="error")

    @on(Button.Pressed, "#test")
    def probe_pressed(self) -> None:
        if self.query_one(SettingsForm).check():
            self.say_probe(lambda: _("Connecting..."))
            self.run_worker(self.test_connection(), exclusive=True)

    async def test_connection(self) -> None:
        from screens.host_key_modal import HostKeyModal
        from screens.password_modal import PasswordModal
        from wizard.app.pins import HostPins
        from wizard.engine.commands import sh
        from wizard.engine.errors import DeployWizardError
        from wizard.engine.transports.ssh import SSHTarget, SSHTransport

        target = Target.model_validate(self.wizard_app.draft.target)

        async def trust(host: str, port: int, fingerprint: str) -> bool:
            trusted = await self.app.push_screen_wait(HostKeyModal(host, port, fingerprint))
            if trusted:  # the recipe's pin from now on, shown in its field
                self.wizard_app.pin_host_key(host, port, fingerprint)
                self.query_one("#target-host_key", Input).value = fingerprint
            return trusted

        async def password(prompt: str) -> str | None:
            return await self.app.push_screen_wait(PasswordModal(prompt))

        transport = SSHTransport(SSHTarget(target.host, target.port, target.user, target.key, target.host_key,
                                           pin_place=HostPins().place(target.host, target.host)),
                                 trust_callback=trust, password_callback=password)
        try:
            await transport.connect()
            result = await transport.run(sh(PROBE, root=False), timeout=30)
        except DeployWizardError as exc:
            why = str(exc)  # the transport's reason, in the language it was said in; the rest follows F2
            self.say_probe(lambda: _("Connection failed: {why}").format(why=why))
            return
        finally:
            await transport.close()
        self.say_probe(lambda: _("Connected as {user} ({sudo}).\nOS: {os}\nPython: {py}\nDisk: {disk}\n"
                                 "Memory: {ram}").format(user=transport.login_user, sudo=privileges(transport),
                                                         **probed(result.stdout)))


def privileges(transport: Transport) -> str:
    """How the login becomes root, for the operator. Root first: the probe also reports whether sudo is
    installed, which root does not need (a root login on a server without sudo is fine, not "no sudo!")."""
    if transport.is_root:
        return _("root login")
    return {SudoMode.NOPASSWD: _("sudo without password"), SudoMode.PASSWORD: _("sudo asks a password")}.get(
        transport.sudo_mode, _("no sudo!"))


def probed(stdout: str) -> dict[str, str]:
    """What the probe printed, in the operator's language ("?" for what it could not tell)."""
    os_name, python, disk, ram = [*stdout.splitlines(), "", "", "", ""][:4]
    free, _sep, size = disk.strip().partition(" ")
    return {"os": os_name.strip() or "?", "py": python.strip() or _("no python3"),
            "disk": _("{free} free of {size}").format(free=free, size=size) if size else "?",
            "ram": _("{mib} MiB").format(mib=ram.strip()) if ram.strip() else "?"}
