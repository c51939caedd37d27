"""What must hold for the environment step, however it was reached (wizard.engine.meaning).

Why the trust store and not the file: a learner who copies the internal CA under another name into
/usr/local/share/ca-certificates (or adds it with `trust anchor`) did the job when the system's bundle, which curl,
certbot and Python's ssl read, accepts the CA. The file name this step would use is then a difference from the
recommended setup. Only the local kind changes the server; cloud and container only advise.
"""

from __future__ import annotations

from recipes.shared.meanings import Probe
from wizard.engine.facts import FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning

_ = translator(__file__)

BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's and Ubuntu's bundle of the trusted CAs
# $1 the CA's certificate (PEM), $2 the bundle. openssl accepts a self-signed root only when the bundle holds it.
TRUSTED = r'''
t=$(mktemp) || exit 2
printf '%s\n' "$1" > "$t"; out=$(openssl verify -CAfile "$2" "$t" 2>&1); rc=$?; rm -f "$t"
[ "$rc" = 0 ] || { printf '%s\n' "$out" | tail -n 1; exit 1; }
'''


def trusted_meaning(pem: str, subject: str) -> Meaning:
    """The system's CA bundle accepts the internal CA `pem` (named `subject` in what is said)."""
    probe = Probe(TRUSTED, (pem.strip(), BUNDLE))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok:
            return None
        return _("the server does not trust {ca}: {bundle} does not hold it ({error}); copy it into "
                 "/usr/local/share/ca-certificates and run update-ca-certificates").format(
                     ca=subject, bundle=BUNDLE, error=answer.output or "?")

    def covers(change: object) -> bool:
        said = str(getattr(change, "describe", lambda: "")())
        return "ca-certificates" in said

    return Meaning(_("the server trusts the internal CA {ca}").format(ca=subject), (probe,), test, covers=covers)


__all__ = ["trusted_meaning"]
