"""A plan's diff of a file that holds a secret: never a value (old values included, which the masker may no longer
know), but for an env file the names its changed lines set, so an operator sees what an env change changes."""

from __future__ import annotations

import hashlib

from wizard.engine.facts import FileState
from wizard.engine.step import PutFile

OLD = b"# Managed by deploy-wizard\nDATABASE_URL=postgres://shop:old-pass@localhost/shop\nDEBUG=0\nKEEP=same\n"
NEW = b"# Managed by deploy-wizard\nDATABASE_URL=postgres://shop:new-pass@localhost/shop\nDEBUG=1\nKEEP=same\nADDED=x\n"


def state(content: bytes | None) -> FileState:
    data = content or b""
    return FileState(hashlib.sha256(data).hexdigest(), "640", "root", "shop", len(data), content)


def test_an_env_file_shows_the_names_its_changed_lines_set_and_no_value() -> None:
    shown = PutFile("w", "/srv/shop/shared/env/app.env", NEW, old=state(OLD), secret=True).diff()
    assert shown == ("(contents of /srv/shop/shared/env/app.env hidden: it holds a secret; the lines that change "
                     "set ADDED, DATABASE_URL, DEBUG)")
    assert "pass" not in shown and "KEEP" not in shown


def test_anything_else_stays_hidden_whole() -> None:
    plain = "(contents of {} hidden: it holds a secret)"
    # not an env file: a password file's line "abc=def" would name part of the password
    assert PutFile("w", "/etc/restic/pw", b"abc=def\n", old=state(b"xyz=uvw\n"), secret=True).diff() == \
        plain.format("/etc/restic/pw")
    # a changed line that sets no name (a bare value)
    bare = PutFile("w", "/srv/shop/shared/env/app.env", b"A=1\nhunter2\n", old=state(b"A=1\nhunter3\n"), secret=True)
    assert bare.diff() == plain.format("/srv/shop/shared/env/app.env")
    # the file as it is now was not read
    unread = PutFile("w", "/srv/shop/shared/env/app.env", NEW, old=state(None), secret=True)
    assert unread.diff() == plain.format("/srv/shop/shared/env/app.env")
