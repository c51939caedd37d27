"""The rules that turn the operator's goals and the server's size into defaults, each with its reason and source.

Why a pure function: the same answers on the same server must give the same defaults in the wizard, the plan,
the runbook and the table tests (tests/test_goals.py), and every default must say which answer and which rule
made it, so the operator can judge it and override it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict, Field

from recipes.goals.facts import Size
from wizard.engine.i18n import plural_translator, translator
from wizard.engine.validators import PlainTextModel

_ = translator(__file__)
n_ = plural_translator(__file__)

Audience = Literal["internal", "public"]
Uptime = Literal["best_effort", "business_hours", "always"]
Data = Literal["disposable", "important", "critical"]

WORKER_MIB = 100  # a sync gunicorn worker of a Django/Flask app: 50-100 MiB resident; the larger, to be safe
SYSTEM_MIB = 384  # Debian, sshd, nginx, journald and the wizard's own timers, with room for the page cache
DATABASE_MIB = 256  # PostgreSQL or MariaDB on the same server, at their Debian defaults
REDIS_OVERHEAD_MIB = 32  # Redis's own process, buffers and fragmentation beyond its maxmemory for data
USERS_PER_WORKER = 50  # a user asks a page every ~10 s, a page takes ~0.2 s of one worker: 1 busy worker per 50
SMALL_MIB = 2048  # below this, swap is added
SWAP_MIB = 1024
MIN_DISK_MIB = 2048  # releases, the venv, logs and the database's growth need room

GUNICORN_WORKERS = "https://docs.gunicorn.org/en/stable/design.html#how-many-workers"
GUNICORN_TIMEOUT = "https://docs.gunicorn.org/en/stable/settings.html#timeout"
SWAP_FAQ = "https://help.ubuntu.com/community/SwapFaq"
FAIL2BAN = "https://wiki.debian.org/fail2ban"
UNATTENDED = "https://wiki.debian.org/UnattendedUpgrades"
BODY_SIZE = "https://nginx.org/en/docs/http/ngx_http_core_module.html#client_max_body_size"
LIMIT_REQ = "https://nginx.org/en/docs/http/ngx_http_limit_req_module.html"
BACKUPS = "https://www.postgresql.org/docs/current/backup.html"
RELEASES = "README.md, Releases that cannot take the site down"


class Resolved(PlainTextModel):
    """The defaults the goals gave on a server of this size, saved beside the answers in the recipe file, so a
    replay on another server can keep them or recompute them (goals.on_other_size) knowingly."""

    model_config = ConfigDict(extra="forbid")

    cpus: int = Field(ge=1, le=4096, description="CPUs of the server the values were resolved for.")
    mem_mib: int = Field(ge=1, le=2**24, description="Memory (MiB) of the server the values were resolved for.")
    workers: int = Field(ge=1, le=64, description="gunicorn workers (app_server.workers).")
    timeout: int = Field(ge=5, le=600, description="gunicorn timeout in seconds (app_server.timeout).")
    watch: int = Field(ge=0, le=3600, description="Seconds a new release is watched (app_server.watch).")
    swap_mib: int = Field(ge=0, le=65536, description="Swap the server should have, in MiB (0 = none added).")
    fail2ban: bool = Field(description="fail2ban on (firewall.fail2ban).")
    unattended_upgrades: bool = Field(description="Automatic security updates (os_updates.unattended_upgrades).")
    backups: bool = Field(description="The data must be backed up (read by a backups step).")
    upload_size: str = Field(pattern=r"^[0-9]{1,4}[km]$", description="Largest upload (nginx.client_max_body_size).")
    rate_limit: int = Field(ge=0, le=10000, description="Requests per second per address (nginx.rate_limit; 0 = off).")


@dataclass(frozen=True)
class Derived:
    """One default: the setting it fills (`step.field`; `goals.*` for the goals' own), its value, the answer it
    comes from, the rule and where the rule is written down."""

    setting: str
    value: Any
    because: str
    rule: str
    source: str


@dataclass
class Resolution:
    resolved: Resolved
    derived: list[Derived] = field(default_factory=list)
    too_small: list[str] = field(default_factory=list)  # plain sentences with the numbers behind them


@dataclass(frozen=True)
class Answers:
    audience: Audience
    peak_users: int
    uptime: Uptime
    data: Data


def cpu_count(n: int) -> str:
    return n_("{n} CPU", "{n} CPUs", n).format(n=n)


def said(a: Answers) -> dict[str, str]:
    audience = _("an internal tool") if a.audience == "internal" else _("a public site")
    uptime = {"best_effort": _("downtime is acceptable"), "business_hours": _("it must be up in business hours"),
              "always": _("it must always be up")}[a.uptime]
    data = {"disposable": _("the data can be recreated"), "important": _("the data is important"),
            "critical": _("losing data is not acceptable")}[a.data]
    users = n_("{n} user at peak", "{n} users at peak", a.peak_users).format(n=a.peak_users)
    return {"audience": audience, "users": users, "uptime": uptime, "data": data}


@dataclass(frozen=True)
class Beside:
    """What else of this app runs on the server and takes memory gunicorn's workers cannot have: Redis (its
    maxmemory for data and its own overhead) and the background workers (one Python process each, like a gunicorn
    worker; restarted after a release, not run beside it, so counted once)."""

    redis_mib: int = 0  # Redis's maxmemory; 0 = no Redis
    worker_processes: int = 0

    @property
    def mib(self) -> int:
        return (self.redis_mib + REDIS_OVERHEAD_MIB if self.redis_mib else 0) + self.worker_processes * WORKER_MIB

    def said(self) -> str:
        """", Redis (160 MiB), 3 background workers (300 MiB)" for the rule's text ("" for nothing)."""
        parts = []
        if self.redis_mib:
            parts.append(_(", Redis ({n} MiB: its maxmemory + {extra})").format(
                n=self.redis_mib + REDIS_OVERHEAD_MIB, extra=REDIS_OVERHEAD_MIB))
        if self.worker_processes:
            parts.append(n_(", {n} background worker ({mib} MiB)", ", {n} background workers ({mib} MiB)",
                            self.worker_processes).format(n=self.worker_processes,
                                                          mib=self.worker_processes * WORKER_MIB))
        return "".join(parts)


def _workers(a: Answers, size: Size, others_mib: int, database: bool,
             beside: Beside) -> tuple[Derived, list[str]]:
    told = said(a)
    cpu_rule = 2 * size.cpus + 1
    reserve = SYSTEM_MIB + (DATABASE_MIB if database else 0) + beside.mib + others_mib
    budget = max(0, size.mem_mib - reserve)
    ram_cap = budget // (2 * WORKER_MIB)  # halved: a new release starts beside the live one before it stops
    need = -(-a.peak_users // USERS_PER_WORKER)
    floor = 1 if a.uptime == "best_effort" else 2  # one stuck worker must not take the site down
    workers = max(1, min(64, cpu_rule, ram_cap, max(floor, need + 1)))
    rule = _("gunicorn's documented (2 x CPUs) + 1 = {cpu_rule}; capped by memory: ({mem} MiB - {reserve} MiB for "
             "the system{db}{beside}{others}) / 2 (a new release starts beside the live one) / {per} MiB a worker = "
             "{ram_cap}; and no more than the users need: 1 busy worker per {upw} users + 1 spare = {need}").format(
        cpu_rule=cpu_rule, mem=size.mem_mib, reserve=reserve, ram_cap=ram_cap, per=WORKER_MIB, upw=USERS_PER_WORKER,
        need=max(floor, need + 1), db=_(", the database") if database else "", beside=beside.said(),
        others=_(", {n} MiB the other apps claim").format(n=others_mib) if others_mib else "")
    because = _("you said {users}; the server has {cpus} and {mem} MiB").format(
        users=told["users"], cpus=cpu_count(size.cpus), mem=size.mem_mib)
    small = []
    if need > min(cpu_rule, ram_cap):
        small.append(_("{users} keep about {need} workers busy at once, but this server fits {fits} ({cpus}: room "
                       "for {cpu_rule}; {mem} MiB of memory: room for {ram_cap}): requests will queue at peak. A "
                       "larger server, or more than one, is needed for this goal.").format(
            users=told["users"], need=need, fits=min(cpu_rule, ram_cap), cpus=cpu_count(size.cpus), cpu_rule=cpu_rule,
            mem=size.mem_mib, ram_cap=ram_cap))
    elif ram_cap < 1:
        small.append(_("{mem} MiB of memory leave no room for one worker beside the live release ({reserve} MiB "
                       "reserved, {per} MiB a worker, twice during a release switch).").format(
            mem=size.mem_mib, reserve=reserve, per=WORKER_MIB))
    return Derived("app_server.workers", workers, because, rule, GUNICORN_WORKERS), small


def _swap(size: Size, others: Mapping[str, Mapping[str, Any]]) -> Derived:
    wanted = SWAP_MIB if size.mem_mib < SMALL_MIB else 0
    theirs = max((int(c.get("swap_mib") or 0) for c in others.values()), default=0)
    value = max(wanted, theirs)  # server-wide: the largest any app asks for
    rule = _("under {small} MiB of memory, {swap} MiB of swap, so a memory spike slows the app down instead of the "
             "kernel killing it; the largest any app on the server asks for").format(small=SMALL_MIB, swap=SWAP_MIB)
    because = _("the server has {mem} MiB of memory").format(mem=size.mem_mib)
    if theirs > wanted:
        because += _("; another app on the server asks for {n} MiB").format(n=theirs)
    return Derived("goals.swap_mib", value, because, rule, SWAP_FAQ)


def _strictest(name: str, mine: bool, others: Mapping[str, Mapping[str, Any]]) -> tuple[bool, list[str]]:
    apps = sorted(app for app, claim in others.items() if claim.get(name))
    return mine or bool(apps), apps


def _server_wide(a: Answers, others: Mapping[str, Mapping[str, Any]]) -> list[Derived]:
    told = said(a)
    out = []
    for setting, name, rule, source in (
            ("firewall.fail2ban", "fail2ban",
             _("a public site is found by scanners within hours: ban addresses that keep failing to log in"), FAIL2BAN),
            ("os_updates.unattended_upgrades", "unattended_upgrades",
             _("a public site gets security fixes the day Debian publishes them"), UNATTENDED)):
        value, apps = _strictest(name, a.audience == "public", others)
        because = _("you said {audience}").format(audience=told["audience"])
        if apps and a.audience != "public":
            because = _("another app on this server needs it ({apps}); a server-wide setting takes the strictest "
                        "value").format(apps=", ".join(apps))
        out.append(Derived(setting, value, because, rule + _(" (server-wide: on when any app needs it)"), source))
    return out


def resolve(a: Answers, size: Size, others: Mapping[str, Mapping[str, Any]] | None = None, *,
            database: bool = False, beside: Beside | None = None) -> Resolution:
    """The defaults for these answers on a server of this size, beside the other apps' claims ({app: claim})."""
    others = others or {}
    told = said(a)
    others_mib = sum(int(c.get("memory_mib") or 0) for c in others.values())
    workers, small = _workers(a, size, others_mib, database, beside or Beside())
    public = a.audience == "public"
    derived = [workers,
               Derived("app_server.timeout", 30 if public else 60,
                       _("you said {audience}").format(audience=told["audience"]),
                       _("gunicorn's default of 30 s for a public site (a slow client is nginx's to buffer); 60 s for "
                         "an internal tool, whose reports and exports run longer"), GUNICORN_TIMEOUT),
               Derived("app_server.watch", 60 if a.uptime == "always" else 30,
                       _("you said {uptime}").format(uptime=told["uptime"]),
                       _("watch a new release for 60 s when it must always be up (a failure switches back on its "
                         "own), else 30 s"), RELEASES),
               _swap(size, others), *_server_wide(a, others),
               Derived("goals.backups", a.data != "disposable", _("you said {data}").format(data=told["data"]),
                       _("data that cannot be recreated is dumped on a schedule, and a backup counts once a restore "
                         "drill has read it back"), BACKUPS),
               Derived("nginx.client_max_body_size", "10m" if public else "25m",
                       _("you said {audience}").format(audience=told["audience"]),
                       _("25m for an internal tool (people attach documents); 10m for a public site, which bounds "
                         "what strangers can make the server write (nginx's own default is 1m)"), BODY_SIZE),
               Derived("nginx.rate_limit", 10 if public else 0,
                       _("you said {audience}").format(audience=told["audience"]),
                       _("a public site: 10 requests a second per address (bursts of 20 pass), so one client cannot "
                         "take every worker; an internal tool: no limit"), LIMIT_REQ)]
    if size.disk_mib and size.disk_mib < MIN_DISK_MIB:
        small.append(_("only {disk} MiB of disk are free; releases, the virtual environment, logs and the database "
                       "need at least {need} MiB.").format(disk=size.disk_mib, need=MIN_DISK_MIB))
    values = {d.setting.split(".")[1]: d.value for d in derived}
    resolved = Resolved(cpus=size.cpus, mem_mib=size.mem_mib, workers=values["workers"], timeout=values["timeout"],
                        watch=values["watch"], swap_mib=values["swap_mib"], fail2ban=values["fail2ban"],
                        unattended_upgrades=values["unattended_upgrades"], backups=values["backups"],
                        upload_size=values["client_max_body_size"], rate_limit=values["rate_limit"])
    return Resolution(resolved, derived, small)


# The other steps' settings the goals fill in, and the resolved value each one takes (`goals.own` names them).
FILLS: dict[str, str] = {"app_server.workers": "workers", "app_server.timeout": "timeout",
                         "app_server.watch": "watch", "firewall.fail2ban": "fail2ban",
                         "os_updates.unattended_upgrades": "unattended_upgrades",
                         "nginx.client_max_body_size": "upload_size", "nginx.rate_limit": "rate_limit"}
Filled = Literal["app_server.workers", "app_server.timeout", "app_server.watch", "firewall.fail2ban",
                 "os_updates.unattended_upgrades", "nginx.client_max_body_size", "nginx.rate_limit"]


def defaults(resolved: Resolved, own: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """The other steps' settings the resolved values fill in, {step: {field: value}}, leaving out the ones the
    operator chose (`own`; a field given another value than its default is kept by the caller too)."""
    out: dict[str, dict[str, Any]] = {}
    for path, name in FILLS.items():
        if path not in own:
            step, _dot, setting = path.partition(".")
            out.setdefault(step, {})[setting] = getattr(resolved, name)
    return out


def claim(resolved: Resolved, beside: Beside | None = None) -> dict[str, Any]:
    """What this app needs from the whole server, for the other apps' plans (recipes/shared/claims.py): its
    gunicorn workers twice (a release starts beside the live one), its Redis and its background workers."""
    return {"swap_mib": resolved.swap_mib, "fail2ban": resolved.fail2ban,
            "unattended_upgrades": resolved.unattended_upgrades,
            "memory_mib": resolved.workers * WORKER_MIB * 2 + (beside or Beside()).mib}
