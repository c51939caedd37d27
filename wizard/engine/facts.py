"""Facts: what is true on the host right now, read without changing anything.

Why batched: a fresh-looking no-op re-run is dominated by round trips, not by work. Every fact a step needs
is one shell fragment; all fragments of a gather go out as ONE command and come back as one delimited
stream, so a step costs one round trip (two when a fact depends on another, e.g. a user's home directory).
Values are cached per step and dropped after the step changes anything.
"""

from __future__ import annotations

import base64
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar

from wizard.engine.commands import Command, Op, cmd, sh
from wizard.engine.gather import FILES_SCRIPT, MARK, gather_script
from wizard.engine.i18n import _
from wizard.engine.transports.base import SecretRefused, Transport, TransportError
from wizard.engine.transports.local import LocalTransport

CONTENT_LIMIT = 256 * 1024  # file content is fetched (for diffs) only below this size


class Fact(ABC):
    """One question about the host. Equal facts (same key) are asked once.

    A fact is a frozen dataclass whose fields are its arguments; its key is `kind` and the fields joined by
    ':' (a tuple field by ','; fields declared with compare=False are left out), e.g. `file:/etc/hosts`, so
    two steps asking the same question share one answer, and data-driven test cases name facts as they read.
    """

    root: ClassVar[bool] = True
    # Asked on this machine instead of the server: only for what the server cannot answer yet and this machine
    # can answer the same way (the commit a branch names, before the server has git). Never as root.
    here: ClassVar[bool] = False
    kind: ClassVar[str]

    @property
    def key(self) -> str:
        parts = [self.kind]
        for item in fields(self) if is_dataclass(self) else ():
            if not item.compare:  # how the question is asked (a login user, an environment), not what
                continue
            value = getattr(self, item.name)
            parts.append(",".join(map(str, value)) if isinstance(value, tuple) else str(value))
        return ":".join(parts)

    @abstractmethod
    def command(self) -> Command: ...

    @abstractmethod
    def parse(self, out: str, status: int) -> Any: ...

    def fresh(self) -> Any:
        """The value on a fresh Debian 13 server: what plan previews assume before any server is reached."""
        return None

    def requires(self) -> tuple[str, ...]:
        """Packages whose programs answer this fact (psql, ufw). While a dry run has only planned to install
        them, the server cannot answer, and the answer is `fresh()`: the state right after the install."""
        return ()

    @classmethod
    def together(cls, facts: list[Fact]) -> Fact | None:
        """One fact that answers all these (of this class) in one command, when one program run can answer many
        (dpkg-query, systemctl show): each run of it costs more than the question. None: each is asked alone."""
        return None

    def part(self, answer: Any) -> Any:
        """This fact's answer out of the answer of `together`'s fact."""
        return answer

    def after(self, value: Any, planned: Mapping[str, Any]) -> Any:
        """The answer once the planned changes ran: what they leave under this fact's key, else the answer now.
        A fact about many things at once (packages) composes it from what is planned for each."""
        return planned.get(self.key, value)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fact) and other.key == self.key

    def __repr__(self) -> str:
        return f"<fact {self.key}>"


@dataclass(frozen=True, eq=False)
class PackagesInstalled(Fact):
    """Installed version of each package, or None when not installed."""

    names: tuple[str, ...]

    kind = "packages"

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(sorted(self.names)))  # one key whatever order a step lists

    def command(self) -> Command:
        return cmd("dpkg-query", "-W", "-f", "${Package}\\t${db:Status-Abbrev}\\t${Version}\\n", *self.names,
                   Op("2>/dev/null"), Op("|| true"))

    def fresh(self) -> dict[str, str | None]:
        return {name: None for name in self.names}

    @classmethod
    def together(cls, facts: list[Fact]) -> Fact:
        """Every package in one dpkg-query: each run reads dpkg's whole database."""
        return cls(tuple({name for fact in facts if isinstance(fact, PackagesInstalled) for name in fact.names}))

    def part(self, answer: dict[str, str | None]) -> dict[str, str | None]:
        return {name: answer[name] for name in self.names}

    def after(self, value: dict[str, str | None], planned: Mapping[str, Any]) -> dict[str, str | None]:
        return {name: planned.get(f"{self.kind}:{name}", {name: version})[name] for name, version in value.items()}

    def parse(self, out: str, status: int) -> dict[str, str | None]:
        found: dict[str, str | None] = {name: None for name in self.names}
        for line in out.splitlines():
            parts = line.split("\t")
            # installed = the second status letter is `i`: `ii` and also `hi` (held with apt-mark hold);
            # `rc` (removed, config files left) and `iF`/`iU` (half-installed) are not
            if len(parts) == 3 and parts[1][1:2] == "i":
                found[parts[0].split(":")[0]] = parts[2]
        return found


@dataclass(frozen=True)
class FileState:
    sha256: str
    mode: str  # "644"
    owner: str
    group: str
    size: int
    content: bytes | None  # None when larger than CONTENT_LIMIT

    def text(self) -> str | None:
        return self.content.decode("utf-8", "replace") if self.content is not None else None


# Files a fresh Debian server already has, that steps edit rather than create (previews keep their lines).
FRESH_FILES = {
    "/etc/hosts": "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n::1\tlocalhost ip6-localhost ip6-loopback\n",
}


@dataclass(frozen=True, eq=False)
class FileInfo(Fact):
    """A regular file's hash, mode, owner and (when small) content; None when absent."""

    path: str

    def fresh(self) -> FileState | None:
        text = FRESH_FILES.get(self.path)
        if text is None:
            return None
        data = text.encode()
        return FileState(hashlib.sha256(data).hexdigest(), "644", "root", "root", len(data), data)

    kind = "file"

    def command(self) -> Command:
        return FilesInfo((self.path,)).command()

    def parse(self, out: str, status: int) -> FileState | None:
        """Read as one file of FilesInfo: one script and one parser, so a file reads the same asked alone or
        with others (the server's hash, content masked in the output unknown, an unreadable file present)."""
        return FilesInfo((self.path,)).parse(out, status)[self.path]

    @classmethod
    def together(cls, facts: list[Fact]) -> Fact:
        """Every file in one script (FilesInfo): one shell for them all, where a no-op of the Flask stack reads
        about 25 files."""
        return FilesInfo(tuple(dict.fromkeys(fact.path for fact in facts if isinstance(fact, FileInfo))))

    def part(self, answer: dict[str, FileState | None]) -> FileState | None:
        return answer[self.path]


@dataclass(frozen=True, eq=False)
class FilesInfo(Fact):
    """FileInfo of many files in one script (FileInfo.together): each costs a stat, sha256sum and a base64. A file
    asked alone is this script of one path, so a file reads the same either way."""

    paths: tuple[str, ...]

    kind = "files"

    def command(self) -> Command:
        return sh(FILES_SCRIPT, str(CONTENT_LIMIT), *self.paths)

    def parse(self, out: str, status: int) -> dict[str, FileState | None]:
        blocks = out.split("@@DW-FILE\n")[1:]
        found: dict[str, FileState | None] = dict.fromkeys(self.paths)
        for path, block in zip(self.paths, blocks, strict=False):
            lines = block.splitlines()
            if len(lines) < 2 or lines[0] == "absent":
                continue
            mode, owner, group, size = lines[0].split()
            kind, _space, value = lines[1].partition(" ")
            # the server's hash, never one of content read back (output is masked: a DATABASE_URL's base64 can come
            # back masked); no hash: present but unreadable, nothing to compare it with
            b64 = lines[2].partition(" ")[2] if len(lines) > 2 and lines[2].startswith("b64") else None
            found[path] = FileState(value.strip() if kind == "sha" else "", mode, owner, group, int(size),
                                    _decoded(b64, int(size)) if kind == "sha" else None)
        return found


def _decoded(b64: str | None, size: int) -> bytes | None:
    """A file's content from its base64, or None when it was not read or came back masked (not base64)."""
    try:
        return (b"" if size == 0 else None) if b64 is None else base64.b64decode(b64, validate=True)
    except ValueError:
        return None


@dataclass(frozen=True, eq=False)
class PathInfo(Fact):
    """Type, mode and owner of any path (directory, symlink target...), or None when absent."""

    path: str

    kind = "path"

    def command(self) -> Command:
        return sh('if [ -e "$1" ]; then stat -c "%F|%a|%U|%G" "$1"; else echo absent; fi', self.path)

    def parse(self, out: str, status: int) -> dict[str, str] | None:
        line = out.strip()
        if line == "absent" or "|" not in line:
            return None
        kind, mode, owner, group = line.split("|")
        return {"type": kind, "mode": mode, "owner": owner, "group": group}

    @classmethod
    def together(cls, facts: list[Fact]) -> Fact:
        """Every path in one script (PathsInfo): one stat each instead of a shell and a stat each."""
        return PathsInfo(tuple(dict.fromkeys(fact.path for fact in facts if isinstance(fact, PathInfo))))

    def part(self, answer: dict[str, dict[str, str] | None]) -> dict[str, str] | None:
        return answer[self.path]


@dataclass(frozen=True, eq=False)
class PathsInfo(Fact):
    """PathInfo of many paths in one script (PathInfo.together): one line each, in order, the same as alone."""

    paths: tuple[str, ...]

    kind = "paths"

    def command(self) -> Command:
        return sh('for p do if [ -e "$p" ]; then stat -c "%F|%a|%U|%G" "$p" 2>/dev/null || echo absent; '
                  'else echo absent; fi; done', *self.paths)

    def parse(self, out: str, status: int) -> dict[str, dict[str, str] | None]:
        found: dict[str, dict[str, str] | None] = dict.fromkeys(self.paths)
        for path, line in zip(self.paths, out.splitlines(), strict=False):
            found[path] = PathInfo(path).parse(line, status)
        return found


class FactValues(Mapping[str, Any]):
    """Gathered values by fact key; `values[fact]` reads naturally in a step's plan."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = dict(values or {})

    def __getitem__(self, fact: Fact | str) -> Any:
        return self._values[fact.key if isinstance(fact, Fact) else fact]

    def __contains__(self, fact: object) -> bool:
        return (fact.key if isinstance(fact, Fact) else fact) in self._values

    def __iter__(self):  # noqa: ANN204
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def update(self, values: Mapping[str, Any]) -> None:
        self._values.update(values)


class FactGatherer:
    """Asks many facts in one command and caches the answers until `invalidate()`.

    In a dry run of a whole recipe, `expect` tells it what the steps planned so far will leave: from then on
    every answer, cached or new, is the server's answer as those changes will leave it. Why here and not in
    the steps: a step plans from facts alone, so the same plan() serves a fresh server (the user deploy_user
    will create, the directories another step makes) and a configured one, with nothing to special-case.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.cache = FactValues()
        self._asked: dict[str, tuple[Fact, Any]] = {}  # key -> (fact, the server's own answer)
        self._planned: dict[str, Any] = {}
        self._here: Transport | None = None
        self.origin: dict[str, str] = {}  # fact key -> the step that asked it first (profiles: bench/noop_reapply.py)

    def invalidate(self) -> None:
        self.cache = FactValues()
        self._asked.clear()
        self._planned.clear()

    def fork(self) -> FactGatherer:
        """A gatherer that starts from what this one knows and expects, and plans ahead on its own (behind.py)."""
        other = FactGatherer(self.transport)
        other.cache, other._here = FactValues(dict(self.cache.items())), self._here
        other._asked, other._planned = dict(self._asked), dict(self._planned)
        return other

    def expect(self, leaves: Iterable[tuple[Fact, Any]]) -> None:
        self._planned.update((fact.key, value) for fact, value in leaves)
        # a fact read before its software was planned (all steps' facts are read at once) reads as right after
        # the install too, as it would had it been asked now
        self.cache = FactValues({key: fact.after(fact.fresh() if self._planned_install(fact) else value, self._planned)
                                 for key, (fact, value) in self._asked.items()})

    async def gather(self, facts: Iterable[Fact], by: str | None = None) -> FactValues:
        """Ask the facts not cached yet (one round trip); `by`: the step asking, kept in `origin` for profiles."""
        wanted = {fact.key: fact for fact in facts if fact not in self.cache}
        for key in wanted if by else ():
            self.origin.setdefault(key, by or "")
        # software a dry run only plans to install cannot answer yet: it reads as right after its install
        answers = {key: fact.fresh() for key, fact in wanted.items() if self._planned_install(fact)}
        for here in (False, True):
            batch = [fact for key, fact in wanted.items() if fact.here is here and key not in answers]
            if batch:
                answers.update(await self._ask_merged(batch, await self._local() if here else self.transport))
        for key, fact in wanted.items():
            self._asked[key] = (fact, answers[key])
            self.cache.update({key: fact.after(answers[key], self._planned)})
        return self.cache

    def _planned_install(self, fact: Fact) -> bool:
        return any(f"{PackagesInstalled.kind}:{name}" in self._planned for name in fact.requires())

    async def _local(self) -> Transport:
        if self._here is None:
            self._here = LocalTransport()
            await self._here.connect()
        return self._here

    async def _ask_merged(self, facts: list[Fact], transport: Transport) -> dict[str, Any]:
        """Ask the facts in one round trip; the facts of a class that can be answered together (Fact.together: the
        packages of every step in one dpkg-query) by one command, each fact answered with its own part."""
        groups: dict[type[Fact], list[Fact]] = {}
        for fact in facts:
            groups.setdefault(type(fact), []).append(fact)
        merged = {kind: kind.together(group) for kind, group in groups.items() if len(group) > 1}
        asked = [fact for fact in facts if merged.get(type(fact)) is None]
        answers = await self._ask(asked + [one for one in merged.values() if one is not None], transport)
        for kind, one in merged.items():
            if one is not None:
                found = answers[one.key]
                answers.update((fact.key, fact.part(found)) for fact in groups[kind])
        return answers

    async def _ask(self, facts: list[Fact], transport: Transport) -> dict[str, Any]:
        carrying = [fact.kind for fact in facts if fact.command().secrets()]
        if carrying:  # facts are what dry runs read: a secret is compared here, as a hash, never sent to be compared
            raise SecretRefused(_("the fact {kinds} would send a secret to {host}; facts never carry secrets "
                                  "(nothing was sent)").format(kinds=", ".join(carrying), host=transport.label))
        script = cmd(Op(gather_script([fact.command().shell() for fact in facts])),
                     root=any(f.root and not f.here for f in facts))
        result = await transport.run(script, timeout=120, commands=len(facts))
        outputs: dict[int, list[str]] = {}
        statuses: dict[int, int] = {}
        current: int | None = None
        for line in result.stdout.splitlines():
            if line.startswith(MARK + "-END "):
                _mark, index, status = line.split()
                statuses[int(index)] = int(status)
                current = None
            elif line.startswith(MARK + " "):
                current = int(line.split()[1])
                outputs[current] = []
            elif current is not None:
                outputs[current].append(line)
        values = {}
        for index, fact in enumerate(facts):
            if index not in statuses:
                raise TransportError(_("could not read facts from {host}: {output}").format(
                    host=transport.label, output=(result.stderr or result.stdout).strip()[-300:]))
            lines = outputs[index]
            if lines and lines[-1] == "":
                lines = lines[:-1]  # the separator echo
            values[fact.key] = fact.parse("\n".join(lines), statuses[index])
        return values
