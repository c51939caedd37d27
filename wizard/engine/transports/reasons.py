"""Why a connection failed, in the operator's words and language: never Python's "[Errno 111] Connect call failed".

Why a table of errno values: the operating system's text is English, names a system call the operator never made,
and says nothing about what to check. The failures an SSH connection meets are few; each gets a sentence that says
what happened and where to look. Anything else keeps its own text, without the "[Errno N]" prefix.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable

from wizard.engine.i18n import _

_ERRNO = re.compile(r"\[Errno (-?\d+)\]\s*")

_REASONS: dict[int, Callable[[], str]] = {
    errno.ECONNREFUSED: lambda: _("nothing answers on that port (connection refused): check the port, and that "
                                  "the SSH server runs there"),
    errno.EHOSTUNREACH: lambda: _("the server cannot be reached (no route to host): check the address and the "
                                  "network"),
    errno.ENETUNREACH: lambda: _("the network is unreachable from this machine"),
    errno.ETIMEDOUT: lambda: _("no answer in time: the server may be down, or a firewall drops the connection"),
    errno.ECONNRESET: lambda: _("the server closed the connection (connection reset)"),
    errno.ECONNABORTED: lambda: _("the connection was aborted"),
    errno.EPIPE: lambda: _("the connection was closed while sending"),
    errno.EADDRNOTAVAIL: lambda: _("that address cannot be used from this machine"),
}
_RESOLVER: dict[int, Callable[[], str]] = {
    socket.EAI_NONAME: lambda: _("the name does not resolve (DNS): check the host name"),
    socket.EAI_AGAIN: lambda: _("the name cannot be resolved right now (DNS): try again, or check the network"),
}


def plain_reason(exc: BaseException) -> str:
    """`exc` (an OSError, a timeout, an asyncssh error) said plainly in the current language."""
    if isinstance(exc, TimeoutError):
        return _REASONS[errno.ETIMEDOUT]()
    number = getattr(exc, "errno", None)
    text = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    if number is None:  # several addresses tried: "Multiple exceptions: [Errno 111] ..., [Errno 99] ..."
        found = _ERRNO.search(text)
        number = int(found.group(1)) if found else None
    if isinstance(exc, socket.gaierror) or (number is not None and number < 0):
        said = _RESOLVER.get(number or 0)
        return said() if said else _("the name does not resolve (DNS): check the host name")
    said = _REASONS.get(number or 0)
    if said is not None:
        return said()
    if text.strip() == "Connection lost":  # asyncssh: the TCP connection closed before SSH could begin
        return _("the server closed the connection before SSH began: check that an SSH server listens on that "
                 "port, and that no firewall or fail2ban cuts this machine off")
    return _ERRNO.sub("", text).strip() or type(exc).__name__


__all__ = ["plain_reason"]
