"""What must hold for the redis step, however it was reached (wizard.engine.meaning).

Why these three: a Redis set up by hand in Debian's /etc/redis/redis.conf, with other comments and order, does
the job when it runs, answers only on the loopback, refuses a client without the password, and the app finds
the recipe's password in its REDIS_URL; the file this step would write and its drop-in are then a difference
from the recommended setup. That the recipe's password itself opens Redis (PONG with it, WRONGPASS with a wrong
one) is the step's own verify check, which grading runs too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from recipes.shared.meanings import Probe, service_active
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning, covering

_ = translator(__file__)

# $1 the port. Exit 1: nothing listens; 2: an address outside the loopback (printed); 3: PING without the
# password was answered (the answer printed).
LOOPBACK = r'''
a=$(ss -ltnH "sport = :$1" | awk '{print $4}')
[ -n "$a" ] || exit 1
for x in $a; do case "$x" in 127.0.0.1:*|\[::1\]:*|::1:*) ;; *) echo "$x"; exit 2;; esac; done
out=$(redis-cli -p "$1" PING </dev/null 2>&1)
case "$out" in *NOAUTH*) ;; *) printf '%s\n' "$out" | tail -n 1; exit 3;; esac
'''

# $1 the app user, $2 the env file: the sha256 of REDIS_URL as the app reads it (never the URL itself).
URL_HASH = r'''
runuser -u "$1" -- sh -c '[ -r "$1" ] || exit 4; set -a; . "$1" >/dev/null 2>&1; [ -n "${REDIS_URL:-}" ] || exit 5
printf %s "$REDIS_URL" | sha256sum | cut -d" " -f1' sh "$2"
'''


def loopback_meaning(port: int, covers: Callable[[object], bool]) -> Meaning:
    """Redis listens on port `port` of the loopback only, and refuses a client that gives no password."""
    probe = Probe(LOOPBACK, (str(port),))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        if answer.status == 1:
            return _("nothing listens on port {port}: is redis-server running with `port {port}`?").format(port=port)
        if answer.status == 2:
            return _("Redis listens on {address}, outside the loopback: bind it to 127.0.0.1 and ::1 only").format(
                address=answer.output or "?")
        return _("Redis answers a client without the password ({answer}): set requirepass").format(
            answer=answer.output or "?")

    return Meaning(_("Redis listens on 127.0.0.1 port {port} only and refuses clients without the password").format(
        port=port), (probe,), test, covers=covers)


def url_meaning(user: str, path: str, url: str, shown: str, covers: Callable[[object], bool]) -> Meaning:
    """The app's account reads, from `path`, a REDIS_URL that is the recipe's (compared by hash: the password is
    never read back nor sent)."""
    probe = Probe(URL_HASH, (user, path))
    wanted = hashlib.sha256(url.encode()).hexdigest()

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.status == 4:
            return _("{user} cannot read {path}").format(user=user, path=path)
        if answer.status == 5 or not answer.ok:
            return _("{path} sets no REDIS_URL").format(path=path)
        if answer.output != wanted:
            return _("REDIS_URL in {path} is not {url} with the recipe's password (percent-encoded)").format(
                path=path, url=shown)
        return None

    return Meaning(_("{user} finds REDIS_URL with the recipe's password in {path}").format(user=user, path=path),
                   (probe,), test, covers=covers)


def redis_meanings(port: int, user: str, env_file: str, url: tuple[str, str], conf_words: tuple[str, ...],
                   env_words: tuple[str, ...]) -> list[Meaning]:
    """Running (covers the restart), the loopback and password (covers the configuration files, `conf_words`),
    the app's REDIS_URL (covers its env file, `env_words`); `url` is (the URL, as shown with *** for the password)."""
    running = replace(service_active("redis-server.service", _("redis-server is running")),
                      covers=covering("systemctl"))
    return [running, loopback_meaning(port, covering(*conf_words)),
            url_meaning(user, env_file, *url, covering(*env_words))]


__all__ = ["redis_meanings"]
