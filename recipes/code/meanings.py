"""What must hold for the code step, however it was reached (wizard.engine.meaning).

Why the commit and the links, read through git and readlink: a learner who clones into a release directory of
another name, or links `current` with an absolute path, did the job when `current` or `next` leads to a release
under /srv/APP/releases whose checkout is the commit the recipe's ref names now. The directory's name, the staging
and the pruning this step would do are then a difference from the recommended setup. The commit the ref names is
the step's own RemoteRef fact, asked once for the plan and the grade alike.
"""

from __future__ import annotations

from collections.abc import Callable

from recipes.shared.meanings import Probe
from wizard.engine.facts import Fact, FactValues
from wizard.engine.i18n import translator
from wizard.engine.meaning import Meaning, covering

_ = translator(__file__)

# $1 the app user, $2 the app's base directory. One line per link that exists: "LINK RELEASE COMMIT", RELEASE "-"
# when it leads outside $2/releases, COMMIT "-" when git cannot read it (git runs as the app user: its checkout).
RELEASES = r'''
for l in current next; do
  t=$(readlink "$2/$l") || continue
  case "$t" in releases/*|"$2"/releases/*) ;; *) echo "$l - -"; continue;; esac
  h=$(runuser -u "$1" -- git -C "$2/$l/" rev-parse HEAD 2>/dev/null) || h=-
  echo "$l $(printf %s "${t##*/}" | tr ' ' '?') ${h:--}"
done; true
'''


def linked(output: str) -> dict[str, tuple[str, str]]:
    """The probe's lines as {link: (release, commit)}."""
    found: dict[str, tuple[str, str]] = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 3:
            found[words[0]] = (words[1], words[2])
    return found


def commit_meaning(user: str, base: str, ref: str, wanted: Callable[[FactValues], tuple[str | None, str]],
                   asked: tuple[Fact, ...]) -> Meaning:
    """`current` or `next` leads to a release checked out at the commit `wanted` reads from the facts `asked`:
    (commit, or None and why it is unknown)."""
    probe = Probe(RELEASES, (user, base))

    def test(facts: FactValues) -> str | None:
        sha, why = wanted(facts)
        if sha is None:
            return _("the commit {ref} names is unknown: {why}").format(ref=ref, why=why or "?")
        links = linked(facts[probe].output)
        if not links:
            return _("neither {base}/current nor {base}/next points to a release yet").format(base=base)
        if any(commit == sha for _release, commit in links.values()):
            return None
        link, (release, commit) = next(iter(links.items()))
        if release == "-":
            return _("{base}/{link} leads outside {base}/releases").format(base=base, link=link)
        if commit == "-":
            return _("{user} cannot read a git checkout in {base}/releases/{release}").format(
                user=user, base=base, release=release)
        return _("{base}/{link} leads to release {release} at commit {commit}, not {sha} ({ref})").format(
            base=base, link=link, release=release, commit=commit[:12], sha=sha[:12], ref=ref)

    return Meaning(_("a release under {base}/releases holds the commit {ref} names, and current or next leads to "
                     "it").format(base=base, ref=ref), (*asked, probe), test,
                   covers=covering("git clone", "ln -sfn", f"rm -f {base}/next", f"rm -rf {base}/releases/",
                                   "install -d"))


__all__ = ["commit_meaning", "linked"]


# $1 the venv, $2 the app's base directory, $3 the install mode, $4 the requirements file's name (or ""), $5 the
# app user. As the app user (facts are asked as root, so runuser) with the venv's own Python: the release
# `current` (else `next`) leads to, the dependency file the mode reads there, and every distribution it names that
# the venv lacks or has at a version outside the file's range, one a line. Exit 2: no release linked; 3: no venv.
DEPENDENCIES = r'''
[ -x "$1/bin/python" ] || { echo "$1/bin/python"; exit 3; }
for l in current next; do [ -d "$2/$l/" ] && { r="$2/$l"; break; }; done
[ -n "${r:-}" ] || exit 2
cd "$r/" && exec runuser -u "$5" -- "$1/bin/python" - "$3" "$4" <<'PY'
import importlib.metadata as md, os, re, sys
mode, req = sys.argv[1], sys.argv[2]
try:
    from pip._vendor.packaging.requirements import Requirement
except ImportError:  # a venv made without pip (uv venv): names only
    Requirement = None
def pyproject():
    import tomllib
    data = tomllib.load(open("pyproject.toml", "rb"))
    poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
    return data.get("project", {}).get("dependencies", []) + [n for n in poetry if n != "python"]
def requirements(name):
    lines = (re.sub(r"(^|\s)#.*", "", l).strip() for l in open(name))
    return [l for l in lines if l and not l.startswith("-")]
if mode == "auto":
    mode = next((m for m, f in (("uv", "uv.lock"), ("poetry", "poetry.lock"), ("requirements", req),
                                ("pyproject", "pyproject.toml")) if f and os.path.isfile(f)), "none")
wanted = [] if mode == "none" else requirements(req) if mode == "requirements" else pyproject()
for line in wanted:
    name = re.split(r"[\s<>=!~;\[@(]", line, maxsplit=1)[0]
    rule = Requirement(line) if Requirement else None
    if rule is not None and rule.marker is not None and not rule.marker.evaluate():
        continue
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        print(line); continue
    if rule is not None and rule.specifier and not rule.specifier.contains(have, prereleases=True):
        print(f"{line} (the venv has {have})")
PY
'''


def dependencies_meaning(user: str, base: str, venv: str, mode: str, requirements: str | None) -> Meaning:
    """The venv holds every distribution the live (or staged) release's dependency file names, in its range:
    however it got there (pip, uv, poetry, one by one)."""
    probe = Probe(DEPENDENCIES, (venv, base, mode, requirements or "", user))

    def test(facts: FactValues) -> str | None:
        answer = facts[probe]
        if answer.ok and not answer.output:
            return None
        if answer.status == 2:
            return _("neither {base}/current nor {base}/next points to a release yet").format(base=base)
        if answer.status == 3:
            return _("there is no virtual environment at {venv}").format(venv=venv)
        lacking = answer.output.splitlines()
        return _("the venv {venv} lacks what the release needs: {what}").format(
            venv=venv, what=", ".join(lacking[:5]) + (" …" if len(lacking) > 5 else ""))

    installs = covering("pip install", "uv sync", "poetry install", "install uv into", "install Poetry into")

    def covers(change: object) -> bool:  # the install, and the plan's "read after the checkout" of another release
        return installs(change) or getattr(change, "why", None) == _("install the requirements")

    return Meaning(_("the venv {venv} holds every dependency the release names").format(venv=venv), (probe,), test,
                   covers=covers)
