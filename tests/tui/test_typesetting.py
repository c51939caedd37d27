"""Chinese typesetting (issue 18, item 8): every Chinese screen at 80x24, each side tab too, has no line that starts
with a closing mark ("，", "。"...), and English words are not cut across lines; clauses joined into one line are
joined with "；"; the line breaking itself (screens.typeset) is checked on its own below."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from screens import typeset
from screens.app import WizardApp
from screens.wizard_screen import fixing_text
from tests.tui.conftest import flow_keys
from tests.tui.test_keys import screen_text
from wizard.app.draft import Draft
from wizard.engine import i18n
from wizard.engine.i18n import clauses
from wizard.engine.runner import RunResult

FLOW = flow_keys()
CLOSING = "，。、；：！？）》」』】"
# what separates the texts on one screen line: borders, scroll bars, and the gap between two columns
GAPS = re.compile(r"\s{2,}|[█▊▌▐│┃▔▁▂▄▅▆▀━─╭╮╰╯▎▕▏]+")


def segments(screen: str) -> Iterator[str]:
    for line in screen.splitlines():
        yield from (part for part in GAPS.split(line) if part.strip())


def bad_starts(screen: str) -> list[str]:
    return [part for part in segments(screen) if part.lstrip()[:1] in CLOSING]


def cut_words(screen: str) -> list[str]:
    """`deploy-wizard` cut after its hyphen: the one English word every Chinese screen has, and long enough to
    land on a line's end."""
    return [part for part in segments(screen) if part.rstrip().endswith(("deploy-", "deploy"))]


async def shown(app: WizardApp, pilot) -> list[str]:  # noqa: ANN001
    """The screen as it is, and a step screen once per side tab."""
    from textual.widgets import TabbedContent

    await pilot.pause(0.3)
    texts = [screen_text(app)]
    for tabs in app.screen.query(TabbedContent):
        for pane in ("tab-plan", "tab-verify", "tab-fails"):
            tabs.active = pane
            await pilot.pause(0.1)
            texts.append(screen_text(app))
    return texts


def zh_app(draft: Draft, start: str = "flow") -> WizardApp:
    i18n.set_language("zh_CN")
    return WizardApp(draft, start=start)


@pytest.mark.parametrize("screen", ["welcome", *FLOW])
async def test_no_chinese_line_starts_with_a_closing_mark(draft: Draft, screen: str) -> None:
    app = zh_app(draft, "welcome" if screen == "welcome" else "flow")
    async with app.run_test(size=(80, 24)) as pilot:
        if screen != "welcome":
            app.goto(FLOW[screen])
        texts = await shown(app, pilot)
    for text in texts:
        assert not bad_starts(text), text
        assert not cut_words(text), text


@pytest.mark.parametrize("name", ["host_key", "password", "new_password", "failure", "failure_edit", "operator",
                                  "change", "help", "quit", "create_folder", "stop_sandbox"])
async def test_no_chinese_dialog_line_starts_with_a_closing_mark(draft: Draft, name: str) -> None:
    from tests.tui.test_snapshots import modal

    app = zh_app(draft)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(modal(name))
        texts = await shown(app, pilot)
    assert not bad_starts(texts[0]), texts[0]


async def test_the_chinese_summary_and_the_fixing_banner_break_well(draft: Draft) -> None:
    from screens.summary import SummaryScreen

    draft.enabled = {"os_updates", "deploy_user", "nginx"}
    result = RunResult(ok=True, changes=7, changed_steps=["os_updates"], failed_step=None, error=None, seconds=4.0,
                       round_trips=9, journal="/var/log/journal.jsonl")
    app = zh_app(draft)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(SummaryScreen(draft.recipe(across=False), result, None, Path("demo.yaml")))
        summary = await shown(app, pilot)
        app.pop_screen()
        app.edit_step("nginx", "'nginx -t' 失败，退出状态 1：\nnginx: [emerg] unknown directive \"proxy_pas\"")
        fixing = await shown(app, pilot)
    for text in [*summary, *fixing]:
        assert not bad_starts(text), text


def wrapped(text: str, width: int) -> list[str]:
    typeset.install()
    return [line.plain for line in Text(text).wrap(Console(width=width), width)]


def test_a_closing_mark_never_starts_a_line_and_an_opening_one_never_ends_one() -> None:
    sentence = "服务器上什么都不会改变，直到你按下“运行”。配方文件不需要这个界面也能重放（见下）。"
    for width in range(6, 40):
        lines = wrapped(sentence, width)
        assert "".join(lines) == sentence  # nothing lost, nothing added
        assert not [line for line in lines if line[:1] in CLOSING], (width, lines)
        assert not [line for line in lines if line[-1:] in "（“"], (width, lines)


def test_an_english_word_in_chinese_text_stays_whole() -> None:
    for width in range(20, 50):
        lines = wrapped("这台服务器上的 deploy-wizard apply demo.yaml --yes 可以重放，不需要界面。", width)
        words = " ".join(lines).split()
        for word in ("deploy-wizard", "apply", "demo.yaml", "--yes"):
            assert any(word in part for part in words), (width, lines)
        assert not [line for line in lines if line.rstrip().endswith("deploy-")], (width, lines)


def test_english_text_wraps_as_before() -> None:
    typeset.install()
    text = "Every answer is in the recipe, and `deploy-wizard edit demo.yaml` opens it again."
    assert list(typeset.words(text)) == list(typeset._ORIGINAL(text))


def test_clauses_are_joined_with_a_full_width_semicolon_in_chinese() -> None:
    assert clauses(["a", "b"]) == "a; b"
    i18n.set_language("zh_CN")
    assert clauses(["第一", "第二"]) == "第一；第二"
    banner = fixing_text("nginx", "步骤失败\n中间的输出\n最后的原因")
    assert "步骤失败；最后的原因" in banner


STRAY = re.compile(r"[\u4e00-\u9fff] [\u4e00-\u9fff]| [，。、；：！？）」』》]|[，。、；：！？（「『《] (?=\S)")


def test_no_stray_space_in_a_chinese_message() -> None:
    """A space between two Chinese characters, or beside a full-width mark (which carries its own), is a typo."""
    from tests.test_i18n import CATALOGS, catalog

    stray = [f"{name}: {text!r}" for name, locale_dir, _ids in CATALOGS for text in catalog(locale_dir).values()
             if STRAY.search(text)]
    assert not stray, "\n".join(stray)
