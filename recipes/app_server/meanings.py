"""What must hold for the app_server step, however it was reached (wizard.engine.meaning).

Why only the socket here: that the app answers through it the way nginx asks is the step's own health check
(gate.verify_live), which grading runs too; a unit written by hand with another name or other options is a
difference from the recommended setup, but without the socket nginx answers 502 whatever else is right.
"""

from __future__ import annotations

from recipes.shared.meanings import Probe
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import Context

_ = translator(__file__)


def socket_meaning(ctx: Context) -> Meaning:
    """The socket nginx connects to exists (systemd holds it)."""
    probe = Probe('[ -S "$1" ]', (ctx.socket,))

    def test(facts: FactValues) -> str | None:
        if facts[probe].ok:
            return None
        return _("there is no socket {path}: nginx gets \"No such file or directory\" and answers 502; "
                 "`systemctl status {app}.socket`").format(path=ctx.socket, app=ctx.app)

    return Meaning(_("the socket {path} exists").format(path=ctx.socket), (probe,), test)


__all__ = ["socket_meaning"]
