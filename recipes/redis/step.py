"""Step redis: Debian's redis-server for the app's queues and caches, on this server's loopback only, with a
password from a secret reference, a memory cap, and REDIS_URL in the app's env files.

Why a configuration of our own (/etc/deploy-wizard/redis/redis.conf, named by a drop-in of redis-server.service)
and not Debian's /etc/redis/redis.conf: Debian's directory belongs to the redis user, and root never writes
through a directory another account controls (it could plant a link there). Debian's file stays as the package
ships it, so upgrades never ask about it either.

Why the password lives in that file: Redis reads `requirepass` from its configuration and nowhere else. So the
file is root's and readable by the redis group only (0640), in a directory of the same kind, like the app's env
files; it is compared by its hash, so `check` needs the secret but never sends it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Literal
from urllib.parse import quote as urlquote

from pydantic import AfterValidator, Field

from recipes.redis.meanings import redis_meanings
from recipes.shared import claims, guards
from recipes.shared.apt import install_missing, started
from recipes.shared.common import DirSpec, app_dirs, dir_facts, ensure_dirs
from recipes.shared.facts import UnitProperties
from wizard.engine.commands import Secret, cmd, sh
from wizard.engine.facts import Fact, FactValues, FileInfo, PackagesInstalled
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning
from wizard.engine.step import (
    Change,
    Check,
    Context,
    Ok,
    PlanError,
    PutFile,
    RunCommand,
    Step,
    StepSettings,
    Teaching,
    Warn,
    file_change,
)
from wizard.engine.templates import renderer
from wizard.engine.validators import Prompted, SecretRef

_ = translator(__file__)
render = renderer(__file__)

PACKAGES = ("redis-server",)
SERVICE = "redis-server.service"
CONF_DIR = "/etc/deploy-wizard/redis"
CONF = f"{CONF_DIR}/redis.conf"
DROPIN = "/etc/systemd/system/redis-server.service.d/deploy-wizard.conf"
DROPIN_TEXT = ("# Managed by deploy-wizard (step redis): Redis reads the recipe's configuration, not Debian's.\n"
               "[Service]\nExecStart=\n"
               f"ExecStart=/usr/bin/redis-server {CONF} --supervised systemd --daemonize no\n")
POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl")
# what redis.conf and redis-cli read as one plain word: no space, quote, backslash or control character
_PLAIN_SECRET = re.compile(r"^[!#-&(-\[\]-~]{12,256}$")
_HOLE = "\x00password\x00"

# $1 the port; the input: AUTH <password>, PING (retried while Redis starts)
VERIFY = r'''
p="$1"; auth=$(cat)
for i in $(seq 20); do
  out=$(printf '%s\n' "$auth" | redis-cli -p "$p" 2>&1); case "$out" in *PONG*) break;; esac; sleep 0.5
done
case "$out" in *PONG*) ;; *) echo "PING with the password: $out"; exit 1;; esac
out=$(redis-cli -p "$p" PING </dev/null 2>&1)
case "$out" in *NOAUTH*) ;; *) echo "PING without the password: $out"; exit 1;; esac
out=$(printf 'AUTH deploy-wizard-wrong-password\nPING\n' | redis-cli -p "$p" 2>&1)
case "$out" in *WRONGPASS*NOAUTH*) ;; *) echo "PING with a wrong password: $out"; exit 1;; esac
'''

PASSWORD_PROMPT = Prompted("Redis password", (
    "Every client of this server's Redis gives it (the app finds it in REDIS_URL). Kept in memory for the plan and "
    "the run only; on the server it is in /etc/deploy-wizard/redis/redis.conf (root's, 0640) and the app's "
    "redis.env."), new=True)


def memory_size(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,5}(mb|gb)", value, re.IGNORECASE):  # Redis reads 1gb and 1GB alike
        raise ValueError(_("'{v}' is not a memory size like 64mb or 1gb (from 1mb)").format(v=value))
    return value


class RedisSettings(StepSettings):
    password: Annotated[SecretRef, PASSWORD_PROMPT] = Field(description=(
        "The password every client gives: env:NAME, file:/path or prompt (12 to 256 characters, no spaces, "
        "quotes or backslashes)."))
    port: int = Field(6379, ge=1024, le=65535, description="TCP port on 127.0.0.1 (and ::1).")
    database: int = Field(0, ge=0, le=15, description="The database number REDIS_URL names (0 to 15).")
    maxmemory: Annotated[str, AfterValidator(memory_size)] = Field("128mb", description=(
        "The memory Redis may use for data, e.g. 128mb or 1gb."))
    maxmemory_policy: Literal[POLICIES] = Field("noeviction", description=(  # type: ignore[valid-type]
        "What Redis does when that memory is full: noeviction refuses writes (right for job queues: no job is "
        "lost); allkeys-lru drops the least recently used keys (right for a cache)."))


def conf_dirs() -> list[DirSpec]:
    return [DirSpec("/etc/deploy-wizard"), DirSpec(CONF_DIR, "root", "redis", "750")]


class Redis(Step):
    name = "redis"
    order = 350  # before the code step: REDIS_URL is in place before any of the app's code runs
    title = "Redis"
    Settings = RedisSettings
    teaching = Teaching(
        why="Job queues (RQ, Celery) and caches need a Redis. It comes from Debian's redis-server package and "
            "listens on this server's loopback addresses only (127.0.0.1 and ::1, port REDIS_PORT): nothing "
            "outside the server can reach it, and every client must give the password (requirepass) before "
            "any command. The password comes from your secret store; it is written to the configuration this "
            "step writes, /etc/deploy-wizard/redis/redis.conf (root's and readable by the redis group only; "
            "Debian's /etc/redis/redis.conf stays as the package ships it), and to the app's env file redis.env "
            "as REDIS_URL, which the web and the workers load. maxmemory caps the memory for data; "
            "maxmemory-policy says what happens when it is full: noeviction refuses new writes (a queue must "
            "never lose a job), allkeys-lru drops the least recently used keys (a cache). Redis keeps a snapshot "
            "on disk (/var/lib/redis), so a restart keeps the queued jobs.",
        verify=[Check("redis-cli -p REDIS_PORT ping | grep NOAUTH", note="without the password Redis answers "
                      "NOAUTH: the check passes when it refuses"),
                Check("sh -c 'REDISCLI_AUTH=$(sed -n \"s/^requirepass //p\" /etc/deploy-wizard/redis/redis.conf) "
                      "redis-cli -p REDIS_PORT ping'", root=True,
                      note="with the password: PONG (read from the config, never on a command line)"),
                Check("ss -ltnp 'sport = :REDIS_PORT'", root=True,
                      note="Redis listens on 127.0.0.1 and [::1] only"),
                Check("sh -c 'REDISCLI_AUTH=$(sed -n \"s/^requirepass //p\" /etc/deploy-wizard/redis/redis.conf) "
                      "redis-cli -p REDIS_PORT info memory | grep -E \"^(used_memory_human|maxmemory_human|"
                      "maxmemory_policy)\"'", root=True, note="the memory it uses, its cap and its policy"),
                Check("ls -l /etc/deploy-wizard/redis/redis.conf /srv/APP/shared/env/redis.env", root=True,
                      note="root:redis 0640 and root:USER 0640: the password is nobody else's")],
        goal="Redis runs on this server's loopback only, refuses every client without the password, and the app "
             "finds that password in REDIS_URL.",
        section="Beyond the tutorial, which has no section on Redis (nearest: 3.2 Database migration and "
                "configuration)",
        troubleshoot=[
            ("NOAUTH Authentication required.",
             "The client gave no password: read REDIS_URL from the environment (redis.from_url(os.environ"
             "[\"REDIS_URL\"])), never a hard-coded redis://localhost."),
            ("WRONGPASS invalid username-password pair or user is disabled.",
             "The client has an old password: the app and the workers load redis.env when they start, and this "
             "step restarts them when it changes; a process started by hand needs a restart."),
            ("OOM command not allowed when used memory > 'maxmemory'.",
             "Redis is full and maxmemory_policy is noeviction: raise maxmemory, or find what fills it "
             "(`redis-cli --bigkeys` with the password in REDISCLI_AUTH)."),
            ("Could not connect to Redis at 127.0.0.1:REDIS_PORT: Connection refused",
             "redis-server is not running: `systemctl status redis-server` and `sudo tail -n 30 "
             "/var/log/redis/redis-server.log` say why."),
        ],
    )

    def teaching_values(self, settings: StepSettings, ctx: Context) -> dict[str, str]:
        assert isinstance(settings, RedisSettings)
        return {"REDIS_PORT": str(settings.port)}

    def meanings(self, settings: StepSettings, ctx: Context) -> list[Meaning]:
        """A Redis configured by hand (Debian's redis.conf edited, other comments and order) counts when it runs,
        answers on the loopback only, refuses clients without the password and the app's REDIS_URL carries the
        recipe's password; the files this step writes then differ from the recommended setup only."""
        assert isinstance(settings, RedisSettings)
        password = urlquote(self._password(settings, ctx).reveal(), safe="")
        where = f"127.0.0.1:{settings.port}/{settings.database}"
        return redis_meanings(settings.port, ctx.user, self.app_env_file(ctx),
                              (f"redis://:{password}@{where}", f"redis://:***@{where}"),
                              ("/etc/deploy-wizard", DROPIN), (ctx.base,))

    def app_env_file(self, ctx: Context) -> str:
        """Where REDIS_URL is (recipes.shared.web.EnvFileOwner): every process of the app loads it."""
        return f"{ctx.env_dir}/redis.env"

    def facts(self, s: RedisSettings, known: FactValues, ctx: Context) -> Iterable[Fact]:
        yield PackagesInstalled(PACKAGES)
        yield from dir_facts([*conf_dirs(), *app_dirs(ctx)])
        yield FileInfo(CONF)
        yield FileInfo(DROPIN)
        yield FileInfo(self.app_env_file(ctx))
        yield UnitProperties(SERVICE)
        yield from claims.claim_facts(self.name, ctx)

    def _password(self, s: RedisSettings, ctx: Context) -> Secret:
        password = ctx.secret(s.password, "redis.password")
        if not _PLAIN_SECRET.match(password.reveal()):
            raise PlanError(_("redis.password: the secret {ref} must be 12 to 256 printable characters without "
                              "spaces, quotes or backslashes (redis.conf and redis-cli read it as one plain word)"
                              ).format(ref=s.password))
        return password

    def _conf(self, s: RedisSettings, password: Secret) -> Secret:
        text = render("redis.conf.j2", port=s.port, password=_HOLE, maxmemory=s.maxmemory, policy=s.maxmemory_policy)
        before, after = text.split(_HOLE)
        return Secret.join("redis.conf", before, password, after)

    def _env(self, s: RedisSettings, password: Secret) -> Secret:
        quoted = password.derive(urlquote(password.reveal(), safe=""), "url")
        return Secret.join("redis.env", "# Managed by deploy-wizard (step redis).\nREDIS_URL='redis://:", quoted,
                           f"@127.0.0.1:{s.port}/{s.database}'\n")

    def plan(self, s: RedisSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        password = self._password(s, ctx)  # read first: a missing or unusable secret stops before any change
        others = claims.others(facts, self.name, ctx)
        if others:
            raise PlanError(_("conflict with the app {app} on this server: its recipe configures this server's "
                              "Redis already, with its own password. One Redis serves one app here: leave the redis "
                              "step out of one of the two recipes").format(app=", ".join(sorted(others))))
        # never early (wizard.engine.behind): Debian starts redis-server without a password, which this step sets
        install = install_missing(PACKAGES, facts[PackagesInstalled(PACKAGES)], recommends=False,
                                  brings=started(SERVICE))
        if install:
            yield install
            return  # configured against the installed package's files in the next pass
        yield Ok(_("packages installed: {names}").format(names=", ".join(PACKAGES)))
        yield from claims.record(self.name, ctx, {"port": s.port}, facts)
        yield from ensure_dirs(conf_dirs(), facts)
        changed = False
        for change in file_change(_("Redis reads its configuration from {path}, not Debian's").format(path=CONF),
                                  DROPIN, DROPIN_TEXT, facts[FileInfo(DROPIN)]):
            changed = changed or isinstance(change, PutFile)
            yield change
        for change in file_change(_("Redis on 127.0.0.1:{port} with a password, at most {size} ({policy})").format(
                port=s.port, size=s.maxmemory, policy=s.maxmemory_policy), CONF, self._conf(s, password),
                facts[FileInfo(CONF)], mode="0640", owner="root", group="redis"):
            changed = changed or isinstance(change, PutFile)
            yield change
        state = facts[UnitProperties(SERVICE)]
        if changed:
            yield RunCommand(_("restart redis-server to load its configuration"),
                             sh('systemctl daemon-reload && systemctl reset-failed "$1" 2>/dev/null; '
                                'systemctl enable --quiet "$1" && systemctl restart "$1"', SERVICE,
                                display=f"systemctl daemon-reload && systemctl restart {SERVICE}"),
                             after_change=True, timeout=120)
        elif state.get("ActiveState") != "active" or state.get("UnitFileState") != "enabled":
            yield RunCommand(_("start redis-server"), cmd("systemctl", "enable", "--now", SERVICE),
                             skip_if=guards.unit_running(SERVICE))
        else:
            yield Ok(_("{unit} is running").format(unit=SERVICE))
        yield from ensure_dirs(app_dirs(ctx), facts)
        path = self.app_env_file(ctx)
        yield from file_change(_("write REDIS_URL to {path} (only {user} can read it)").format(
            path=path, user=ctx.user), path, self._env(s, password), facts[FileInfo(path)], mode="0640",
            owner="root", group=ctx.user)

    def verify(self, s: RedisSettings, ctx: Context) -> list[RunCommand]:
        """PONG with the password (given on redis-cli's input, never its command line); NOAUTH without it, and
        WRONGPASS then NOAUTH with a wrong one."""
        password = self._password(s, ctx)
        return [RunCommand(_("Redis answers PING with the password, and refuses it without and with a wrong one"), sh(
            VERIFY, str(s.port),
            stdin=Secret.join("redis AUTH", "AUTH ", password, "\nPING\n"),
            display=f"redis-cli -p {s.port} AUTH *** PING && redis-cli -p {s.port} PING (NOAUTH) && "
                    f"redis-cli -p {s.port} AUTH <wrong> PING (WRONGPASS)"))]
