"""The parsed CSS kept between starts (screens.css_cache): the same rules as Textual's own parse, read back only
from a file that is the user's alone, parsed again for another theme, and never a reason to fail."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from textual.app import App
from textual.css.stylesheet import Stylesheet, StylesheetParseError
from textual.widgets import Button

from screens import css_cache

APP_CSS = Path(css_cache.__file__).with_name("app.tcss").read_text(encoding="utf-8")
SOURCES = [(APP_CSS, ("app.tcss", ""), False), (Button.DEFAULT_CSS, ("_button.py", "Button.DEFAULT_CSS"), True)]
THEME = App().get_css_variables()  # the default theme's variables, as the wizard's stylesheet has them


def parsed(variables: dict[str, str]) -> str:
    """Every rule of a stylesheet holding the app's CSS and Button's, as Textual writes them back."""
    sheet = Stylesheet(variables=variables)
    for css, read_from, defaults in SOURCES:
        sheet.add_source(css, read_from=read_from, is_default_css=defaults)
    sheet.parse()
    return sheet.css


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    return folder / "textual-css.pickle"


def test_rules_read_back_are_the_rules_textual_parses(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = parsed(THEME)
    with css_cache.kept(cache):
        assert parsed(THEME) == expected
    assert cache.exists()

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again, though the cache holds these rules")

    # the next start: Textual's parser is not called, the rules come from the file
    monkeypatch.setattr(Stylesheet, "_parse_rules", no_parse)
    with css_cache.kept(cache):
        assert parsed(THEME) == expected


def test_another_theme_is_parsed_with_its_own_colours(cache: Path) -> None:
    with css_cache.kept(cache):
        parsed(THEME)
    other = {**THEME, "primary": "#ff0000", "border": "#ff0000"}
    expected = parsed(other)
    assert "#FF0000" in expected.upper()  # the theme does reach the rules: the key must hold it
    with css_cache.kept(cache):
        assert parsed(other) == expected


@pytest.mark.parametrize("mode", [0o622, 0o660])
def test_a_file_others_may_write_is_never_unpickled(cache: Path, mode: int) -> None:
    with css_cache.kept(cache):
        parsed(THEME)
    assert css_cache.load(cache)
    cache.chmod(mode)
    assert css_cache.load(cache) == {}


def test_a_folder_others_may_write_is_not_trusted(cache: Path) -> None:
    with css_cache.kept(cache):
        parsed(THEME)
    cache.parent.chmod(0o777)
    assert css_cache.load(cache) == {}


def test_nothing_is_written_into_a_folder_others_may_write(cache: Path) -> None:
    cache.parent.chmod(0o777)
    with css_cache.kept(cache):
        parsed(THEME)
    assert not cache.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="makes a folder another user owns")
def test_root_makes_nothing_in_another_users_folder(tmp_path: Path) -> None:
    """`sudo deploy-wizard` keeping the user's HOME: their ~/.cache is theirs, and root writes nothing into it."""
    home_cache = tmp_path / "cache"
    home_cache.mkdir()
    os.chown(home_cache, 65534, 65534)
    path = home_cache / "deploy-wizard" / "textual-css.pickle"
    with css_cache.kept(path):
        parsed(THEME)
    assert not path.parent.exists()


def test_a_broken_or_foreign_file_only_means_parsing_again(cache: Path) -> None:
    expected = parsed(THEME)
    cache.write_bytes(b"half a pickle")
    cache.chmod(0o600)
    with css_cache.kept(cache):
        assert parsed(THEME) == expected
    assert css_cache.load(cache)  # and the broken file was replaced by a good one

    cache.write_bytes(pickle.dumps(((3, 7), {"key": "rules"})))  # another Python's, another Textual's
    assert css_cache.load(cache) == {}


def test_css_with_an_error_is_reported_and_not_kept(cache: Path) -> None:
    sheet = Stylesheet(variables=THEME)
    sheet.add_source("Button { colour: red; }", read_from=("bad.tcss", ""))
    with css_cache.kept(cache), pytest.raises(StylesheetParseError):
        sheet.parse()
    assert not cache.exists()


def test_an_unwritable_cache_folder_is_no_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        path = Path("/proc/deploy-wizard-test/textual-css.pickle")  # even root cannot create it there
    else:
        tmp_path.chmod(0o500)
        path = tmp_path / "cache" / "textual-css.pickle"
    expected = parsed(THEME)
    with css_cache.kept(path):
        assert parsed(THEME) == expected
    assert not path.exists()


def test_the_wizard_keeps_its_css_in_the_users_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`deploy-wizard` (screens.app.run_app) runs the app inside `kept()`: the rules it parsed are in the cache
    file when it ends, and Textual's own parser is back in place."""
    from screens import app as wizard_app

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    seen = []

    def run(self: wizard_app.WizardApp) -> None:
        seen.append(Stylesheet._parse_rules is not original)
        parsed(THEME)

    original = Stylesheet._parse_rules
    monkeypatch.setattr(wizard_app.WizardApp, "run", run)
    assert wizard_app.run_app(None) == 0
    assert seen == [True]
    assert Stylesheet._parse_rules is original
    assert css_cache.load(tmp_path / "deploy-wizard" / "textual-css.pickle")
