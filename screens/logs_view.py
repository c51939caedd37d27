"""The Summary's Logs view: the last lines of a service's logs on the server, read from here (`l` again: the next
service the recipe logs: app, nginx, db..., then the system's journal).

Why in the wizard too: right after a run, "what does the app say?" is the next question, and a learner should
not have to know that the app's output is in the journal of APP@* and nginx's in /var/log/nginx. The lines come
from the same code as `deploy-wizard logs` (wizard.app.logs), masked the same way; following new lines stays
the CLI's (`deploy-wizard logs FILE -f`).
"""

from __future__ import annotations

from textual.widgets import Static

from wizard.app.logs import offered
from wizard.app.recipefile import Recipe
from wizard.engine.i18n import _

LINES = 40


class LogsView(Static):
    def __init__(self, recipe: Recipe) -> None:
        super().__init__("", markup=False, id="logs")
        self.recipe = recipe
        self.services = offered(recipe)
        self.index = -1  # which of `services` is shown; -1 before the first
        self.lines: list[str] = []
        self.note = ""  # what the server or the masking said
        self.running = False

    @property
    def service(self) -> str:
        return self.services[self.index]

    def relabel(self) -> None:
        """F2: the heading in the other language (the lines stay as the server wrote them)."""
        if self.index >= 0:
            self.update(self.text())

    def next_service(self) -> None:
        """Show the next service's last lines (the first: the app's)."""
        if self.running:
            self.app.notify(_("The logs are being read."))
            return
        self.index = (self.index + 1) % len(self.services)
        self.lines, self.note, self.running = [], "", True
        self.update(self.text())
        self.run_worker(self._read(), exclusive=True, group="logs")

    async def _read(self) -> None:
        from screens.run import questions_for
        from wizard.app.logs import read_logs
        from wizard.engine.errors import DeployWizardError

        def unread(labels: list[str]) -> None:
            self.note = _("Not masked (not readable here): {labels}").format(labels=", ".join(labels))

        try:
            status, errors = await read_logs(self.recipe, questions_for(self.app), self.service, self.lines.append,
                                             lines=LINES, unread=unread)
            if status != 0:
                self.note = errors.strip() or _("exit {code}").format(code=status)
        except DeployWizardError as exc:
            self.note = _("The logs could not be read: {why}").format(why=exc)
        finally:
            self.running = False
        self.update(self.text())

    def text(self) -> str:
        head = _("Logs of {service} on {host}, the last {n} lines (l: the next of {all})").format(
            service=self.service, host=self.recipe.target.host, n=LINES, all=", ".join(self.services))
        body = self.lines or [_("Reading…") if self.running else _("(no lines)")]
        return "\n".join([head, *body, *([self.note] if self.note else [])])


__all__ = ["LogsView"]
