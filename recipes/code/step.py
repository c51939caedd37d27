"""Step code: the app's source as immutable releases, switched atomically, with old ones kept for rollback."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from recipes.code import hostkey, install, python_version, rollback
from recipes.code.facts import NO_SUCH_REF, RemoteRef, RemoteRefHere
from recipes.code.meanings import commit_meaning, dependencies_meaning
from recipes.shared import guards
from recipes.shared.common import (
    DirSpec,
    app_dirs,
    as_app,
    current_release,
    dir_facts,
    ensure_dirs,
    link_leaves,
    linked_release,
    next_link,
    release_facts,
    switch_link,
)
from recipes.shared.facts import DirEntries, Readlink
from recipes.shared.fields import CommandChain, RelativePath
from recipes.shared.web import app_server
from wizard.engine.commands import Command, Op, cmd, sh
from wizard.engine.facts import Fact, FactGatherer, FactValues, FileInfo, PathInfo
from wizard.engine.hooks import Rollback
from wizard.engine.hostkeys import host_pattern
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Later,
    Ok,
    PlanError,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    WaitForOperator,
)
from wizard.engine.transports.base import Transport

_ = translator(__file__)

_URL = re.compile(r"^((https?|git|ssh)://[A-Za-z0-9._~:@%+\-]+(/[A-Za-z0-9._~%+\-]+)*/?|"
                  r"[A-Za-z0-9._\-]+@[A-Za-z0-9.\-]+:[A-Za-z0-9._~/+\-]+)$")
_REF = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/\-]{1,200}$")
SHA = re.compile(r"^[0-9a-f]{40}$")
# After as_app's cd into the live release: $1 the message when that cd failed, $2 the venv, then the command.
ONE_OFF = ('[ "$PWD" = "$DW_RELEASE" ] || { printf "deploy-wizard: %s\\n" "$1" >&2; exit 1; }; '
           'PATH="$2/bin:$PATH"; shift 2; exec "$@"')
AUTH_FAILURES = ("Permission denied", "Could not read from remote repository", "Authentication failed",
                 "could not read Username", "Host key verification failed")


def repo_url(value: str) -> str:
    if not _URL.match(value) or value.startswith("-"):
        raise ValueError(_("'{v}' is not a git URL (https://host/path.git, ssh://..., git://... or "
                           "git@host:path.git)").format(v=value))
    return value


def git_ref(value: str) -> str:
    if not _REF.match(value):
        raise ValueError(_("'{v}' is not a branch, tag or commit name").format(v=value))
    return value


RepoURL = Annotated[str, AfterValidator(repo_url)]
GitRef = Annotated[str, AfterValidator(git_ref)]


def deploy_key(ctx: Context) -> str:
    return f"{ctx.shared}/ssh/deploy_key"


def git_env(ctx: Context, use_key: bool) -> dict[str, str]:
    """git's environment on the server: ssh checks the git host against the app's pinned key (recipes/code/hostkey.py),
    with the deploy key when there is one; nothing ever prompts."""
    ssh = hostkey.ssh_command(ctx)
    if use_key:
        ssh += f" -i {deploy_key(ctx)} -o IdentitiesOnly=yes"
    return {"GIT_SSH_COMMAND": ssh, "GIT_TERMINAL_PROMPT": "0", "HOME": ctx.home}


class CodeSettings(StepSettings):
    repo: RepoURL = Field(description="Git URL of the app.")
    ref: GitRef = Field("main", description="Branch, tag or full commit to deploy.")
    submodules: bool = Field(False, description="Also check out git submodules.")
    keep_releases: int = Field(5, ge=1, le=50, description="Releases kept on the server for rollback.")
    deploy_key: bool = Field(False, description=(
        "Private repository over SSH: make a key for the server, show it, and wait until you add it to the "
        "repository as a read-only deploy key."))
    install: Literal["auto", "requirements", "pyproject", "uv", "poetry", "none"] = Field("auto", description=(
        "How the app's dependencies get into the venv: auto reads the release (uv.lock, else poetry.lock, else "
        "the requirements file, else the dependencies in pyproject.toml); or name one; none installs nothing."))
    requirements: RelativePath | None = Field("requirements.txt", description=(
        "Requirements file in the repository, installed into the venv when it changes (install: requirements, "
        "or auto without a lock file); empty = none."))
    build: CommandChain | None = Field(None, description=(
        "A front-end build run once per release in the new release as the app user, before static files are "
        "collected, e.g. npm ci && npm run build; when it uses npm or node, Debian's nodejs and npm come first."))
    repo_host_key: Annotated[str, AfterValidator(hostkey.host_key_fingerprint)] | None = Field(None, description=(
        "For a repository over SSH: the git host's key fingerprint (SHA256:..., as the host publishes it), the only "
        "key git on the server accepts; empty = the server shows the key it meets on the first apply for you to "
        "confirm."))


class Code(Step):
    name = "code"
    order = 400
    title = "Code"
    Settings = CodeSettings
    release_part = True
    teaching = Teaching(
        why="Each deploy is a new directory under releases/, named after its commit, and the `current` link is "
            "switched to it in one atomic rename. A half-finished deploy is never live, re-deploying the same "
            "commit does nothing, and going back is just pointing `current` at an older release. It all lives "
            "under /srv/APP, not /var/www/myapp as many tutorials have it: /srv is where the filesystem standard "
            "puts what a server serves, one directory per app keeps two apps apart, and /var/www is nginx's own "
            "web root, where one wrong line in a site would serve the app's source and its env files.",
        verify=[Check("readlink /srv/APP/current", note="the live release: releases/<commit>"),
                Check("ls /srv/APP/releases", note="the releases kept for a rollback")],
        troubleshoot=[
            ("Permission denied (publickey)",
             "The server's deploy key is not (yet) on the repository. Add the key the wizard showed, read-only."),
            ("Host key verification failed",
             "The git host presents a key that is not the one kept in /srv/APP/shared/ssh/known_hosts (the pinned "
             "code.repo_host_key, or the one confirmed on the first apply). Check the new key where the host "
             "publishes it, then pin it in the recipe, or remove the old one: `sudo ssh-keygen -R GIT_HOST -f "
             "/srv/APP/shared/ssh/known_hosts`. Submodules on another SSH host need that host's key in the file too."),
            ("fatal: couldn't find remote ref",
             "The branch or tag does not exist on the remote; check the ref setting."),
            ("THESE PACKAGES DO NOT MATCH THE HASHES",
             "A download differs from the hash the requirements file pins. Changed versions on purpose? Generate "
             "the hashes again (pip-compile --generate-hashes); otherwise do not deploy it."),
            ("pyproject.toml changed significantly since poetry.lock was last generated",
             "poetry.lock is older than pyproject.toml: run `poetry lock` and commit the new lock."),
            ("fatal: detected dubious ownership in repository",
             "The release belongs to USER, not to you, and git refuses to work in another account's repository: "
             "run git as USER, e.g. `sudo -u USER git -C /srv/APP/current log -1 --oneline`."),
        ],
        goal="The app's code is cloned into a release under /srv/APP/releases, its dependencies installed in the venv.",
        section="3.1 Fetching and syncing the code",
    )

    def _ref_fact(self, s: CodeSettings, ctx: Context) -> RemoteRef:
        where = hostkey.ssh_host(s.repo)
        return RemoteRef(s.repo, s.ref, ctx.user, tuple(git_env(ctx, s.deploy_key).items()),
                         (host_pattern(*where), hostkey.known_hosts(ctx)) if where else ())

    def _dirs(self, s: CodeSettings, ctx: Context) -> list[DirSpec]:
        dirs = app_dirs(ctx)
        if s.deploy_key or hostkey.ssh_host(s.repo):
            dirs.append(hostkey.ssh_dir(ctx))
        return dirs

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        """GIT_HOST: the repository's entry in the app's known_hosts (`'[host]:port'` off port 22), as
        `ssh-keygen -R` takes it; not the server itself."""
        where = hostkey.ssh_host(getattr(settings, "repo", ""))
        if where is None:  # https:// or git://: no host key of git's on the server, the host alone
            return {"GIT_HOST": urlsplit(getattr(settings, "repo", "")).hostname or "GIT_HOST"}
        return {"GIT_HOST": shlex.quote(host_pattern(*where))}

    def facts(self, s: CodeSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield from dir_facts(self._dirs(s, ctx))
        yield from release_facts(ctx)
        server = app_server(ctx)
        if server:
            yield from server[0].env_facts(ctx)
        yield DirEntries(ctx.releases)
        yield PathInfo(f"{ctx.venv}/bin/pip")
        if s.deploy_key:
            yield FileInfo(deploy_key(ctx) + ".pub")
        if hostkey.ssh_host(s.repo):
            yield FileInfo(hostkey.known_hosts(ctx))
            scan = hostkey.needs_scan(s.repo, s.repo_host_key, known, ctx)
            if scan:
                yield scan
        if not SHA.match(s.ref):
            remote = self._ref_fact(s, ctx)
            yield remote
            if remote in known and known[remote].get("unavailable"):
                yield RemoteRefHere(s.repo, s.ref)  # a dry run on a fresh server: read the commit from here
        sha = self._sha(s, known, ctx)
        if sha:
            release = f"{ctx.releases}/{sha[:12]}"
            yield PathInfo(release)
            if PathInfo(release) in known and known[PathInfo(release)]:
                yield from python_version.version_facts(ctx, release)
            yield from install.facts(s, known, ctx, release)
            yield from install.build_facts(s, ctx)

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        assert isinstance(settings, CodeSettings)
        asked = () if SHA.match(settings.ref) else (self._ref_fact(settings, ctx),)

        def wanted(facts: FactValues) -> tuple[str | None, str]:
            answer = facts[asked[0]] if asked else {}
            return self._sha(settings, facts, ctx), answer.get("unavailable") or answer.get("error") or ""

        found = [commit_meaning(ctx.user, ctx.base, settings.ref, wanted, asked)]
        mode = install.chosen_mode(settings)
        if mode != "none":
            found.append(dependencies_meaning(ctx.user, ctx.base, ctx.venv, mode, settings.requirements))
        server = app_server(ctx)
        if server:  # the app's environment file, which this step writes for the app server (env_changes)
            found += server[0].env_meanings(server[1], ctx)
        return found

    def _sha(self, s: CodeSettings, facts: FactValues, ctx: Context) -> str | None:
        if SHA.match(s.ref):
            return s.ref
        remote = self._ref_fact(s, ctx)
        if remote not in facts:
            return None
        here = RemoteRefHere(s.repo, s.ref)
        if facts[remote].get("unavailable") and here in facts:
            return facts[here]["sha"]
        return facts[remote]["sha"]

    async def pin_for_fleet(self, s: CodeSettings, gather: FactGatherer) -> dict[str, str]:
        """The FleetPinned hook: a branch or tag becomes the commit it names now, read on this machine."""
        if SHA.match(s.ref):
            return {}
        here = RemoteRefHere(s.repo, s.ref)
        answer = (await gather.gather([here]))[here]
        if answer["sha"]:
            return {"ref": answer["sha"]}
        if answer.get("reason") == NO_SUCH_REF:  # the remote answered: a full commit would not help a typo
            raise PlanError(_("{repo} has no branch or tag named {ref} (read from this machine; a commit is given "
                              "in full, 40 hex digits). `git ls-remote --heads --tags {repo}` lists the ones it "
                              "has").format(repo=s.repo, ref=s.ref))
        lines = (answer["error"] or "").strip().splitlines() or ["?"]
        why = next((line for line in lines if line.startswith("fatal:")), lines[-1])  # not git's closing advice
        raise PlanError(_("could not reach {repo} from this machine to read the commit {ref} names ({why}); every "
                          "host gets the commit read here: check the address and your access "
                          "(`git ls-remote {repo}`), or give a full commit instead (deploy --ref COMMIT, or --set "
                          "code.ref=COMMIT)").format(
                              repo=s.repo, ref=s.ref, why=why))

    async def rollback(self, transport: Transport, settings: StepSettings, ctx: Context,
                       to: str | None, say: Callable[[str], None] | None = None) -> Rollback:
        """The ReleaseSwitcher hook behind `deploy-wizard rollback` (recipes/code/rollback.py)."""
        return await rollback.rollback(transport, ctx, to, say)

    async def live_release(self, transport: Transport, settings: StepSettings, ctx: Context) -> str | None:
        """The LiveRelease hook behind `deploy-wizard deploy`: the release `current` names, None before one."""
        facts = await FactGatherer(transport).gather([Readlink(ctx.current)])
        return current_release(facts, ctx)

    def one_off(self, settings: StepSettings, ctx: Context, argv: Sequence[str]) -> Command:
        """The OneOff hook behind `deploy-wizard run`: `argv` as the app user in the live release, with the app's
        env files loaded and the venv first on PATH, the way the service and the migrations run. When nothing
        is live yet the command does not run somewhere else: it stops with a message that says why.

        as_app's variables are handed over by `exec env` instead of an `export` in front: every shell on the
        way then execs the next, so no shell is left waiting in between, and Ctrl-C in a Django shell reaches
        Python alone instead of killing a waiting shell and with it the session."""
        app = as_app(ctx, ONE_OFF, _("no release is live at {path} yet: apply the recipe first").format(
            path=ctx.current), ctx.venv, *argv, display=f"cd {ctx.current} && {shlex.join(argv)}")
        return Command((Op("exec"), "env", *(f"{name}={value}" for name, value in app.env), *app.bits),
                       root=app.root, user=app.user, display=app.display)

    def plan(self, s: CodeSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok]:
        yield from ensure_dirs(self._dirs(s, ctx), facts)
        env = git_env(ctx, s.deploy_key)
        # the git host's key and the deploy key in one pass: a first deploy of a private repository then takes no
        # more passes than it did before the key was pinned (the operator's confirmation, the checkout, the proof)
        pinning = list(hostkey.plan(s.repo, s.repo_host_key, facts, ctx))
        yield from pinning
        if s.deploy_key and facts[FileInfo(deploy_key(ctx) + ".pub")] is None:
            yield RunCommand(_("make an SSH key for the server to read the repository with"),
                             cmd("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"deploy-wizard@{ctx.app}",
                                 "-f", deploy_key(ctx), user=ctx.user),
                             skip_if=guards.exists(deploy_key(ctx) + ".pub"))
            return  # the next pass shows the key and checks access
        if any(not isinstance(item, Ok) for item in pinning):
            return  # the next pass reads the ref through the pinned key
        sha = self._sha(s, facts, ctx)
        remote = facts[self._ref_fact(s, ctx)] if not SHA.match(s.ref) else {}
        if sha is None and remote.get("unavailable"):
            here = facts[RemoteRefHere(s.repo, s.ref)]["error"]
            yield Later(_("check out {ref} and make it the next release").format(ref=s.ref),
                        _("the commit {ref} names is read once the server has git and the user {user} "
                          "(this machine could not read it: {why})").format(ref=s.ref, user=ctx.user, why=here))
            return
        if sha is None:
            error = remote["error"] or ""
            if s.deploy_key and any(marker in error for marker in AUTH_FAILURES):
                public = (facts[FileInfo(deploy_key(ctx) + ".pub")].text() or "").strip()
                yield WaitForOperator(
                    _("the server cannot read the repository yet"),
                    _("Add this key to {repo} as a read-only deploy key:\n\n  {key}\n").format(repo=s.repo, key=public),
                    skip_if=sh('git ls-remote -- "$1" >/dev/null 2>&1', s.repo, user=ctx.user, env=env))
                return
            raise PlanError(_("cannot read {ref} from {repo}: {why}").format(ref=s.ref, repo=s.repo, why=error))
        release_id = sha[:12]
        release = f"{ctx.releases}/{release_id}"
        if facts[PathInfo(release)] is None:
            yield RunCommand(
                _("check out {ref} ({sha}) into {path}").format(ref=s.ref, sha=release_id, path=release),
                sh('set -e; tmp="$1.tmp"; rm -rf "$tmp"; git clone --quiet --no-checkout -- "$2" "$tmp"; '
                   'git -C "$tmp" -c advice.detachedHead=false checkout --quiet "$3"; '
                   'if [ "$4" = 1 ]; then git -C "$tmp" submodule update --quiet --init --recursive; fi; '
                   'mv "$tmp" "$1"', release, s.repo, sha, "1" if s.submodules else "0", user=ctx.user, env=env,
                   display=f"git clone {s.repo} {release} && git -C {release} checkout {release_id}"),
                skip_if=guards.exists(release))
        else:
            yield Ok(_("release {id} is checked out").format(id=release_id))
            yield from python_version.check(facts, ctx, release)
        server = app_server(ctx)
        if server:  # before anything runs the app's code (requirements' build hooks, migrations, collectstatic)
            yield from server[0].env_changes(server[1], facts, ctx)
        yield from self._plan_switch(facts, ctx, release_id, gated=server is not None)
        yield from install.plan_install(s, facts, ctx, release)
        yield from install.plan_build(s, facts, ctx, release_id, facts[PathInfo(release)] is not None)
        yield from self._plan_prune(s, facts, ctx, release_id)

    def _plan_switch(self, facts: FactValues, ctx: Context, release_id: str, *, gated: bool) -> Iterator[Change | Ok]:
        """Stage the release behind the app server's gate (`next`), or, with no app server, make it live."""
        live = current_release(facts, ctx)
        staged = linked_release(facts, next_link(ctx))
        if live == release_id:
            yield Ok(_("current is release {id}").format(id=release_id))
            if staged:  # a release that never passed the gate, and the recipe went back to the live one
                yield RunCommand(_("drop the staged release {id}: the recipe wants the live one").format(id=staged),
                                 cmd("rm", "-f", next_link(ctx)), skip_if=guards.missing(next_link(ctx)))
        elif not gated:
            yield RunCommand(_("switch current to release {id} (was {old})").format(id=release_id, old=live or "-"),
                             switch_link(ctx.current, release_id),
                             skip_if=guards.link_is(ctx.current, f"releases/{release_id}"),
                             leaves=link_leaves(ctx.current, release_id))
        elif staged != release_id:
            yield RunCommand(_("stage release {id} for the app server's health check (next -> releases/{id})").format(
                id=release_id), switch_link(next_link(ctx), release_id),
                skip_if=sh('[ "$(readlink "$1")" = "$3" ] || [ "$(readlink "$2")" = "$3" ]', next_link(ctx),
                           ctx.current, f"releases/{release_id}"),  # staged, or through the gate already
                leaves=link_leaves(next_link(ctx), release_id))
        else:
            yield Ok(_("release {id} waits for the app server's health check").format(id=release_id))

    def _plan_prune(self, s: CodeSettings, facts: FactValues, ctx: Context, keep: str) -> Iterator[Change | Ok]:
        releases = [r for r in facts[DirEntries(ctx.releases)] if not r.endswith(".tmp")]
        if keep not in releases:
            releases.append(keep)  # about to exist, and the newest
        live, staged = current_release(facts, ctx), linked_release(facts, next_link(ctx))
        old = [r for r in releases[:-s.keep_releases] if r not in (keep, live, staged)]
        if old:
            yield RunCommand(_("remove old releases beyond the newest {n}: {names}").format(
                n=s.keep_releases, names=", ".join(old)),
                cmd("rm", "-rf", *[f"{ctx.releases}/{r}" for r in old], user=ctx.user),
                skip_if=sh('for d; do ! [ -e "$d" ] || exit 1; done', *[f"{ctx.releases}/{r}" for r in old]))
