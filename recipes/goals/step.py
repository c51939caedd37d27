"""Step goals: who uses the app, how many at peak, how much uptime and data matter; the defaults they give.

Why a step: its answers belong in the recipe file (intent, with the values they resolved to beside them), its
form, plain prompts, `--set` and schema come from its settings like every other step's, and it reads the
server's size as facts. It fills in other steps' defaults (wizard/app/goals.py, before any step plans) only
where the operator left a setting out, and its plan says for each one "because you said ...", the rule and
where the rule comes from. The one thing it changes itself is swap, a server-wide setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from recipes.goals import rules
from recipes.goals.facts import ServerSize, Size
from recipes.goals.meanings import swap_meaning
from recipes.goals.rules import Audience, Data, Filled, Resolution, Resolved, Uptime
from recipes.shared import claims
from wizard.engine.commands import sh
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.intent import overridden
from wizard.engine.meaning import Meaning
from wizard.engine.step import Change, Check, Context, Ok, RunCommand, Step, StepSettings, Teaching, Warn

_ = translator(__file__)

SWAPFILE = "/swapfile"
MAX_USERS = 1_000_000


def user_count(value: int) -> int:
    if value < 1:
        raise ValueError(_("{v} is not a number of users: at least 1").format(v=value))
    if value > MAX_USERS:
        raise ValueError(_("{v} users at peak is more than one server can serve (at most {max:,}); such a site "
                           "needs many servers behind a load balancer, which this wizard does not build").format(
            v=value, max=MAX_USERS))
    return value


class GoalsSettings(StepSettings):
    audience: Audience = Field("internal", description=(
        "'internal': a tool for your own people; 'public': a site anyone on the internet can reach."))
    peak_users: Annotated[int, AfterValidator(user_count)] = Field(20, json_schema_extra={
        "minimum": 1, "maximum": MAX_USERS}, description="How many people use it at the busiest hour.")
    uptime: Uptime = Field("business_hours", description=(
        "How much uptime matters: 'best_effort', 'business_hours' or 'always'."))
    data: Data = Field("important", description=(
        "How much the data matters: 'disposable' (can be recreated), 'important' or 'critical'."))
    on_other_size: Literal["keep", "recompute"] = Field("keep", description=(
        "On a server of another size than the values were resolved for: 'keep' them (the same settings "
        "everywhere) or 'recompute' them for this server."))
    own: list[Filled] = Field(default_factory=list, description=(
        "Settings of other steps you chose yourself, kept as they are written even at their default value, "
        "e.g. firewall.fail2ban to keep fail2ban off on a public site. A setting written with another value than "
        "its default is yours anyway; every other one follows the goals."))
    resolved: Resolved | None = Field(None, description=(
        "The defaults the answers gave, and the server size they were resolved for (written by the wizard)."))


def server_size(facts: FactValues) -> Size:
    """The size fact (a mapping in data-driven cases, tests/cases/goals)."""
    value = facts[ServerSize()]
    return Size(**value) if isinstance(value, dict) else value


def beside(ctx: Context) -> rules.Beside:
    """This app's Redis (its maxmemory) and background worker processes, read from the recipe's other steps as
    data (a step never imports another)."""
    redis, workers = ctx.settings("redis"), ctx.settings("workers")
    size = str(getattr(redis, "maxmemory", "") or "").lower() if redis is not None else ""
    number = int(size[:-2]) if size[:-2].isdigit() else 0
    redis_mib = number * 1024 if size.endswith("gb") else number
    processes = getattr(workers, "processes", None) or {}
    instances = getattr(workers, "instances", None) or {}
    return rules.Beside(redis_mib=redis_mib, worker_processes=sum(int(instances.get(name, 1)) for name in processes))


def answers(s: GoalsSettings) -> rules.Answers:
    return rules.Answers(audience=s.audience, peak_users=s.peak_users, uptime=s.uptime, data=s.data)


def _values(resolved: Resolved) -> dict[str, Any]:
    by_field = {"client_max_body_size": resolved.upload_size}
    return {name: by_field.get(name, getattr(resolved, name, None)) for name in
            ("workers", "timeout", "watch", "swap_mib", "fail2ban", "unattended_upgrades", "backups",
             "client_max_body_size", "rate_limit")}


class Goals(Step):
    name = "goals"
    order = 10
    title = "Deployment goals"
    Settings = GoalsSettings
    teaching = Teaching(
        why="Before anything is installed, decide what the server is for. An internal tool for a few colleagues "
            "and a public site for thousands need different settings: how many gunicorn workers the CPUs and the "
            "memory can hold (with room for a new release started beside the live one), whether a small server "
            "needs swap, whether strangers knocking on SSH must be banned and security updates installed on their "
            "own, whether the data must be backed up, how large an upload may be and how fast one address may ask. "
            "The wizard derives each of these from your answers and the server's size (its cgroup limits "
            "included), says which answer and which rule gave it, and keeps any value you set yourself. "
            "Settings that belong to the whole server (swap, fail2ban, automatic updates) take the strictest "
            "value any app on it asks for, so two apps never undo each other. A server too small for the goal "
            "gets a plain warning with the numbers. When a team outgrows one server (more users than its workers "
            "can serve, or no downtime even for a reboot), the next steps are a separate database server, several "
            "app servers behind a load balancer, or a container platform.",
        verify=[Check("nproc; free -m; df -h /", note="the CPUs, memory, swap and disk the defaults were sized for"),
                Check("cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max",
                      note="a limit here (not 'max') is what the app really gets"),
                Check("swapon --show"),
                Check("systemctl show -p ExecStart APP@*.service | grep -o 'workers [0-9]*'", root=True,
                      note="the gunicorn workers the live release runs with")],
        troubleshoot=[
            ("swapon: /swapfile: swapon failed: Operation not permitted",
             "The server is a container (systemd-nspawn, LXC, Docker): swap belongs to the host's kernel. Add swap "
             "on the host, or give the container more memory."),
            ("Workers are killed: 'Out of memory: Killed process ... (gunicorn)' in journalctl -k",
             "Too many workers for the memory: set app_server.workers lower, add swap, or use a larger server."),
            ("Requests wait at the busiest hour (nginx logs 'upstream timed out')",
             "More users than workers: the goals' warning gives the numbers. Use a larger server, or several."),
        ],
    )

    def facts(self, settings: StepSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield ServerSize()
        yield from claims.claim_facts("goals", ctx)

    def resolution(self, s: GoalsSettings, facts: FactValues, ctx: Context) -> tuple[Resolution, str | None]:
        """The defaults for this server and a note on a replay: kept or recomputed (goals.on_other_size)."""
        size = server_size(facts)
        fresh = rules.resolve(answers(s), size, claims.others(facts, "goals", ctx),
                              database=ctx.settings("database") is not None, beside=beside(ctx))
        old = s.resolved
        if old is None or (old.cpus, old.mem_mib) == (size.cpus, size.mem_mib):
            return fresh, None
        was = _("the values were resolved for {cpus} and {mem} MiB; this server has {now_cpus} and "
                "{now_mem} MiB").format(
            cpus=rules.cpu_count(old.cpus), mem=old.mem_mib, now_cpus=rules.cpu_count(size.cpus), now_mem=size.mem_mib)
        if s.on_other_size == "recompute":
            before, after = _values(old), _values(fresh.resolved)
            moved = [f"{name} {value} -> {after[name]}" for name, value in before.items() if value != after[name]]
            return fresh, _("{was}: recomputed for this server (goals.on_other_size: recompute): {moved}").format(
                was=was, moved=", ".join(moved) or _("nothing changed"))
        kept = _values(old)
        derived = [replace(d, value=kept[d.setting.split(".")[1]]) for d in fresh.derived]
        return Resolution(old, derived, fresh.too_small), _(
            "{was}: the resolved values are kept (goals.on_other_size: keep); --set goals.on_other_size=recompute "
            "sizes them for this server").format(was=was)

    def resolve(self, settings: StepSettings, facts: FactValues, ctx: Context) -> tuple[StepSettings,
                                                                                       dict[str, dict[str, Any]]]:
        """The goals with their resolved values, and the defaults they give the other steps (see Intent)."""
        assert isinstance(settings, GoalsSettings)
        resolution, _note = self.resolution(settings, facts, ctx)
        # values already in the recipe stay there: the plan says whether they were kept or recomputed for this server
        own = settings if settings.resolved else settings.model_copy(update={"resolved": resolution.resolved})
        return own, rules.defaults(resolution.resolved, settings.own)

    def choose(self, values: dict[str, Any], setting: str, mine: bool = True) -> None:
        """The operator set `setting` (`step.field`) themselves, in a form or with --set (`mine`), or put it back
        to follow the goals (--reset): when the goals fill it, name it in goals.own or take it out (raw values)."""
        own = values.get("own")
        if setting not in rules.FILLS or not isinstance(own, list | None):
            return
        kept = [item for item in own or [] if item != setting]
        values["own"] = [*kept, setting] if mine else kept

    def explain(self, settings: StepSettings, ctx: Context) -> list[str]:
        """The answers and each default with its reason, for the size the values were resolved for (a fresh
        server's when they were not resolved yet)."""
        assert isinstance(settings, GoalsSettings)
        r = settings.resolved
        size = Size(cpus=r.cpus, mem_mib=r.mem_mib, disk_mib=0) if r else ServerSize().fresh()
        facts = FactValues({ServerSize().key: size, claims.Claims("goals").key: {}})
        resolution, _note = self.resolution(settings, facts, ctx)
        told = rules.said(answers(settings))
        lines = [_("You said: {audience}, {users}, {uptime}, {data}.").format(**told)]
        if r is None:
            lines.append(_("Not resolved on a server yet: the values below are for {cpus} and {mem} MiB; a plan "
                           "or apply resolves them for the real server.").format(
                cpus=rules.cpu_count(size.cpus), mem=size.mem_mib))
        lines += [self._said(d, settings, ctx) for d in resolution.derived]
        return lines + [_("Too small: {why}").format(why=text) for text in resolution.too_small]

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        assert isinstance(settings, GoalsSettings)
        return [swap_meaning(lambda facts: (self.resolution(settings, facts, ctx)[0].resolved.swap_mib,
                                            server_size(facts)), (ServerSize(), claims.Claims("goals")))]

    def plan(self, settings: StepSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        assert isinstance(settings, GoalsSettings)
        resolution, note = self.resolution(settings, facts, ctx)
        size = server_size(facts)
        yield Ok(_("the server: {cpus}, {mem} MiB of memory, {disk} MiB of disk free, {swap} MiB of swap"
                   "{limited}").format(cpus=rules.cpu_count(size.cpus), mem=size.mem_mib, disk=size.disk_mib,
                                       swap=size.swap_mib,
                                       limited=_(" (limited by its cgroup)") if size.cgroup_limited else ""))
        if note:
            yield Ok(note)
        for derived in resolution.derived:
            yield Ok(self._said(derived, settings, ctx))
        for text in resolution.too_small:
            yield Warn(_("this server is too small for the goals: {why}").format(why=text),
                       _("use a larger server, or lower goals.peak_users if the estimate is too high"))
        yield from self._swap(resolution.resolved.swap_mib, size)
        yield from claims.record("goals", ctx, rules.claim(_effective(resolution.resolved, settings, ctx),
                                                           beside(ctx)), facts)

    def _said(self, d: rules.Derived, s: GoalsSettings, ctx: Context) -> str:
        step, _dot, name = d.setting.partition(".")
        line = _("{setting} = {value}, because {because}. Rule: {rule}. Source: {source}").format(
            setting=d.setting, value=_show(d.value), because=d.because, rule=d.rule, source=d.source)
        if step == "goals":
            return line
        other = ctx.settings(step)
        if other is None:
            return line + _(" (the step {step} is not in this recipe)").format(step=step)
        overrides = name in type(other).model_fields and overridden(other, name) and getattr(other, name) != d.value
        if d.setting in s.own or overrides:
            own = _("{setting} = {value}: your own setting (the goals would give {derived}, because {because})")
            return own.format(setting=d.setting, value=_show(getattr(other, name, None)), derived=_show(d.value),
                              because=d.because)
        return line

    def _swap(self, wanted: int, size: Size) -> Iterator[Change | Ok | Warn]:
        if wanted == 0 or size.swap_mib >= wanted:
            yield Ok(_("swap: {have} MiB, enough for the goals").format(have=size.swap_mib))
            return
        if size.container:
            yield Warn(_("this server is a container ({virt}): swap belongs to the host's kernel, and swapon is "
                         "refused inside; {n} MiB of swap are not added here").format(virt=size.virt, n=wanted),
                       _("on a virtual machine or a real server the wizard adds /swapfile; here give the container "
                         "more memory, or add swap on the host"))
            return
        yield RunCommand(_("add {n} MiB of swap in {path}, so a memory spike slows the app instead of ending "
                           "it").format(n=wanted, path=SWAPFILE),
                         sh('[ -e "$1" ] || { fallocate -l "$2"M "$1" && chmod 600 "$1" && mkswap "$1" >/dev/null; } '
                            '&& { swapon --show=NAME --noheadings | grep -qx "$1" || swapon "$1"; } && '
                            '{ grep -q "^$1 " /etc/fstab || echo "$1 none swap sw 0 0" >> /etc/fstab; }',
                            SWAPFILE, str(wanted)),
                         skip_if=sh('swapon --show=NAME --noheadings | grep -qx "$1" && grep -q "^$1 " /etc/fstab',
                                    SWAPFILE))


def _effective(resolved: Resolved, s: GoalsSettings, ctx: Context) -> Resolved:
    """The resolved values with the operator's own settings in their place: what this app really asks of the
    server (its claim). fail2ban kept off here is no reason for another app to turn it on."""
    update: dict[str, Any] = {}
    for setting, name in rules.FILLS.items():
        step, _dot, field = setting.partition(".")
        other = ctx.settings(step)
        if other is None or field not in type(other).model_fields:
            continue
        value = getattr(other, field)
        if value is not None and (setting in s.own or (overridden(other, field) and value != getattr(resolved, name))):
            update[name] = value
    return resolved.model_copy(update=update)


def _show(value: object) -> str:
    if value is None:
        return _("empty (the step's own default)")
    if isinstance(value, bool):
        return _("on") if value else _("off")
    return str(value)
