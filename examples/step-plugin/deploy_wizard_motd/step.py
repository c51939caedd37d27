"""Step motd: the message people see when they log in, so nobody mistakes production for a playground.

Why it is here: it is the smallest complete step, to copy when you write your own. A step imports only
wizard.engine; its templates and translations sit in the folders beside this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

from pydantic import AfterValidator, Field

from wizard.engine.facts import Fact, FactValues, FileInfo
from wizard.engine.i18n import translator
from wizard.engine.step import Change, Check, Context, Ok, Step, StepSettings, Teaching, file_change
from wizard.engine.templates import renderer

_ = translator(__file__)
render = renderer(__file__)
MOTD = "/etc/motd"


def printable(value: str) -> str:
    """One or more lines of text: no control characters, so the file cannot carry terminal escapes."""
    if not value.strip() or any(ord(ch) < 32 and ch != "\n" for ch in value) or len(value) > 2000:
        raise ValueError(_("a login message is 1 to 2000 characters of plain text"))
    return value.strip("\n")


class MotdSettings(StepSettings):
    message: Annotated[str, AfterValidator(printable)] = Field(description="The message shown at every login.")
    show_app: bool = Field(True, description="Add a line naming the app this server runs.")


class Motd(Step):
    name = "motd"
    order = 1150  # after the built-in steps (100 ... 1100)
    title = "Login message"
    Settings = MotdSettings
    teaching = Teaching(
        why="The login message is the first thing anyone sees on a server. Saying what runs here, and that "
            "changes go through the recipe, stops a hurried fix by hand on the wrong machine.",
        verify=["cat /etc/motd", Check("SSH_LOGIN", local=True, note="log in: the message comes first")],
        troubleshoot=[("the message does not show at login",
                       "sshd prints it only when PrintMotd or pam_motd is on (Debian: pam_motd, the default).")],
    )

    def facts(self, settings: StepSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield FileInfo(MOTD)

    def plan(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        assert isinstance(settings, MotdSettings)
        content = render("motd.j2", message=settings.message, show_app=settings.show_app, app=ctx.app)
        yield from file_change(_("write the login message"), MOTD, content, facts[FileInfo(MOTD)])
