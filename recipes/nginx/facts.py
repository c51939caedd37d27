"""Host facts of nginx: the whole configuration as nginx itself reads it (`nginx -T`), parsed into blocks.

Why `nginx -T` and not the site file: a learner may write the site with their own comments, order and file
name, or put the upstream in conf.d; only what nginx loads counts, after its includes, so grading reads the
configuration the way nginx does and asks where a request for the site's name really goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wizard.engine.commands import Command, sh
from wizard.engine.facts import Fact

_TOKEN = re.compile(r"""#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};"'#]+""")


@dataclass
class Block:
    """One directive: its name, its arguments and, for a block (`server {...}`), what it holds."""

    name: str
    args: list[str]
    children: list[Block] = field(default_factory=list)

    def find(self, name: str) -> list[Block]:
        """Every directive of this name anywhere below."""
        found = []
        for child in self.children:
            if child.name == name:
                found.append(child)
            found += child.find(name)
        return found

    def first(self, name: str) -> Block | None:
        return next((c for c in self.children if c.name == name), None)


def parse_config(text: str) -> Block:
    """The directives of one configuration text (comments, quotes and any whitespace as nginx reads them)."""
    root = Block("", [])
    stack = [root]
    words: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token.startswith("#"):
            continue
        if token in ("{", ";"):
            block = Block(words[0], words[1:]) if words else Block("", [])
            stack[-1].children.append(block)
            if token == "{":
                stack.append(block)
            words = []
        elif token == "}":
            if len(stack) > 1:
                stack.pop()
            words = []
        else:
            words.append(token.strip("\"'") if token[:1] in "\"'" else token)
    return root


def parse_dump(out: str) -> Block:
    """`nginx -T`: each file's text after its `# configuration file PATH:` line, parsed on its own (a site
    file holds server blocks that nginx.conf includes inside http {}), under one root."""
    root = Block("", [])
    for part in re.split(r"^# configuration file [^\n]*:\n", out, flags=re.MULTILINE)[1:]:
        root.children += parse_config(part).children
    return root


@dataclass(frozen=True)
class NginxState:
    valid: bool  # nginx -t accepts the configuration
    error: str  # what nginx -t said when it did not
    config: Block | None = field(default=None, compare=False)


class NginxConfig(Fact):
    kind = "nginx-T"

    def command(self) -> Command:
        return sh('out=$(nginx -T 2>&1) && { echo ok; printf "%s\\n" "$out"; } || '
                  '{ echo bad; printf "%s\\n" "$out" | grep -E "emerg|error" | head -n 3; }')

    def requires(self) -> tuple[str, ...]:
        return ("nginx",)

    def parse(self, out: str, status: int) -> NginxState:
        head, _sep, rest = out.partition("\n")
        if head.strip() != "ok":
            return NginxState(False, rest.strip() or out.strip() or "nginx -T failed")
        return NginxState(True, "", parse_dump(rest))


def route_of(config: Block, name: str, path: str = "/") -> str | None:
    """Where nginx sends a request for `name` at `path`: a proxy_pass target with an upstream resolved to its first
    server (`unix:/run/app/gunicorn.sock`, `127.0.0.1:8000`), or None when no server block for the name
    proxies that location. The longest prefix location wins, as in nginx (regex locations are not followed)."""
    upstreams = {b.args[0]: b for b in config.find("upstream") if b.args}
    for server in config.find("server"):  # a block that only redirects (HTTP to HTTPS) does not decide
        names = [arg for b in server.children if b.name == "server_name" for arg in b.args]
        if name not in names:
            continue
        best: tuple[int, Block] | None = None
        for location in server.find("location"):
            prefix = location.args[-1] if location.args else ""
            if path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), location)
        if best is None:
            continue
        target = best[1].first("proxy_pass")
        if target is not None and target.args:
            return _resolve(target.args[0], upstreams)
    return None


def _resolve(target: str, upstreams: dict[str, Block]) -> str:
    host = re.sub(r"^https?://", "", target)
    if host.startswith("unix:"):
        return host.split(":", 2)[0] + ":" + host.split(":", 2)[1]
    name = host.split("/", 1)[0]
    upstream = upstreams.get(name)
    server = upstream.first("server") if upstream else None
    return server.args[0] if server and server.args else name


__all__ = ["Block", "NginxConfig", "NginxState", "parse_config", "parse_dump", "route_of"]
