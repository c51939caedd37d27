"""The draft files on disk as the operator manages them: listed with their age, deleted by id, expired when old.

Why expiry: a draft is the answers typed into the wizard that exist nowhere else, so it is kept through crashes
and quits; but one abandoned months ago only crowds the Welcome screen's list, and may hold a host name, a user
and paths the operator has long forgotten. So drafts untouched for DRAFT_DAYS days go at the next start, and
the operator is told which. Why this module is light (no recipe model): every start runs the expiry, and a
command like `sandbox status` must not pay for loading every step to do it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.fsutil import state_dir
from wizard.engine.i18n import _, n_

DRAFT_DAYS = 30
HEADER = "# deploy-wizard draft"  # the first line of every draft file (wizard.app.draft.Draft.autosave)


class DraftError(DeployWizardError):
    """A draft the operator named that is not there: bad input."""

    exit_code = ExitCode.BAD_INPUT


def drafts_dir() -> Path:
    return state_dir() / "drafts"


def _draft_files() -> list[Path]:
    """The files of the drafts directory that are drafts (their first line says so): nothing else is touched."""
    found = []
    for path in drafts_dir().glob("*.yaml"):
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                if handle.readline().startswith(HEADER):
                    found.append(path)
        except OSError:
            continue
    return found


def expire(days: int = DRAFT_DAYS, now: float | None = None) -> list[Path]:
    """Delete the drafts not changed for `days` days; the ones deleted."""
    limit = (time.time() if now is None else now) - days * 86400
    gone = []
    for path in _draft_files():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                gone.append(path)
        except OSError:
            continue
    return sorted(gone)


def expired_notice(gone: list[Path]) -> str:
    return n_("Deleted {n} draft not changed for {days} days: {names}",
              "Deleted {n} drafts not changed for {days} days: {names}", len(gone)).format(
                  n=len(gone), days=DRAFT_DAYS, names=", ".join(path.name for path in gone))


def age(seconds: float) -> str:
    """How old, in the largest unit that fits: 3 days, 5 hours, 12 minutes."""
    days, hours, minutes = int(seconds // 86400), int(seconds // 3600), int(seconds // 60)
    if days:
        return n_("{n} day", "{n} days", days).format(n=days)
    if hours:
        return n_("{n} hour", "{n} hours", hours).format(n=hours)
    if minutes:
        return n_("{n} minute", "{n} minutes", minutes).format(n=minutes)
    return _("just now")


@dataclass(frozen=True)
class SavedDraft:
    """A draft file as the Welcome screen lists it."""

    path: Path
    name: str
    host: str
    modified: float
    key: str = ""  # how `deploy-wizard drafts delete` names it
    recipe: str = ""  # the recipe file it belongs to, if it was opened from one or saved


def saved_drafts() -> list[SavedDraft]:
    """The drafts in the state directory, newest first; a file that does not read as a draft is left out."""
    paths = list(drafts_dir().glob("*.yaml"))
    if not paths:
        return []
    import yaml  # here: a first start, with no draft, draws the Welcome screen without it

    from wizard.engine import safe_yaml

    found = []
    for path in paths:
        try:
            data = safe_yaml.load(path.read_text(encoding="utf-8"))
            modified = path.stat().st_mtime
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        body = data.get("draft") if isinstance(data, dict) else None
        if isinstance(body, dict):
            target = body.get("target") if isinstance(body.get("target"), dict) else {}
            found.append(SavedDraft(path, str(body.get("name") or "app"), str(target.get("host") or ""), modified,
                                    str(body.get("key") or path.stem), str(body.get("path") or "")))
    return sorted(found, key=lambda d: (d.modified, d.path.name), reverse=True)


def latest_draft() -> Path | None:
    drafts = saved_drafts()
    return drafts[0].path if drafts else None


@dataclass(frozen=True)
class Listed:
    """One draft as `deploy-wizard drafts` shows it."""

    key: str
    age: str
    recipe: str  # the app name and host
    file: str  # the recipe file it belongs to; "" for a new recipe never saved
    path: Path


def listing(now: float | None = None) -> list[Listed]:
    """Every draft, newest first."""
    now = time.time() if now is None else now
    rows = []
    for draft in saved_drafts():
        rows.append(Listed(draft.key, age(now - draft.modified), f"{draft.name} @ {draft.host or '-'}",
                           draft.recipe, draft.path))
    return rows


def delete(ids: list[str]) -> list[Path]:
    """Delete the drafts named by their id (or file name); DraftError, before deleting any, for an unknown id."""
    rows = listing()
    chosen, unknown = [], []
    for wanted in ids:
        match = [row.path for row in rows if wanted in (row.key, row.path.name, row.path.stem)]
        if match:
            chosen += [path for path in match if path not in chosen]
        else:
            unknown.append(wanted)
    if unknown:
        raise DraftError(_("no draft with the id {ids}; `deploy-wizard drafts` lists them").format(
            ids=", ".join(unknown)))
    for path in chosen:
        path.unlink(missing_ok=True)
    return chosen


def delete_all() -> list[Path]:
    paths = [row.path for row in listing()]
    for path in paths:
        path.unlink(missing_ok=True)
    return paths
