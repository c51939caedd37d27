"""The plain prompt mode: the same declarations and validation as the TUI, the same recipe file, and
Ctrl-C leaves nothing half-written."""

from __future__ import annotations

import pytest
import yaml

from screens.plain import QuestionaryAsker, new_plain


class Scripted:
    """Answers by question; records what was asked and every validation message shown."""

    def __init__(self, answers: dict[str, list[object]], interrupt_at: str | None = None) -> None:
        self.answers = answers
        self.interrupt_at = interrupt_at
        self.rejected: list[str] = []

    def _next(self, message: str, default: object) -> object:
        if self.interrupt_at and self.interrupt_at in message:
            raise KeyboardInterrupt
        for key, queue in self.answers.items():
            if key in message and queue:
                return queue.pop(0)
        return default

    def text(self, message: str, default: str, check) -> str:
        while True:
            answer = str(self._next(message, default))
            verdict = check(answer)
            if verdict is True:
                return answer
            self.rejected.append(str(verdict))

    def confirm(self, message: str, default: bool) -> bool:
        return bool(self._next(message, default))

    def select(self, message: str, choices: list[str], default: str) -> str:
        answer = str(self._next(message, default))
        assert answer in choices
        return answer


def test_answers_become_the_same_recipe_file(tmp_path) -> None:
    asker = Scripted({
        "Short name": ["shop"],
        "Host name or IP": ["bad host!", "web1.example.com"],  # refused first, with the model's message
        "Login user": ["admin"],
        "Include the step: OS updates": [True],
        "Time zone": ["Mars/Nowhere/Too/Deep", "Europe/Berlin"],
        "Include the step: Deploy user": [True],
        "Name of the account": ["shop"],
        "Include the step: Python": [False],
        "Include the step: Code": [False],
        "Include the step: Database": [False],
        "Include the step: Static": [False],
        "Include the step: App server": [False],
        "Include the step: nginx": [False],
        "Include the step: HTTPS": [False],
        "Include the step: Firewall": [False],
        "Include the step: Monitoring": [False],
    })
    path = new_plain(tmp_path / "shop.yaml", asker)
    saved = yaml.safe_load(path.read_text())
    assert saved["name"] == "shop"
    assert saved["target"]["host"] == "web1.example.com" and saved["target"]["user"] == "admin"
    assert saved["steps"]["os_updates"]["timezone"] == "Europe/Berlin"
    assert saved["steps"]["deploy_user"]["name"] == "shop"
    assert set(saved["steps"]) == {"os_updates", "deploy_user"}
    assert any("not a host name" in message for message in asker.rejected)
    assert any("time zone" in message for message in asker.rejected)


def test_ctrl_c_midway_writes_nothing(tmp_path) -> None:
    asker = Scripted({"Host name or IP": ["web1.example.com"], "Git URL": ["https://git.example.com/shop.git"]},
                     interrupt_at="Include the step: Database")
    with pytest.raises(KeyboardInterrupt):
        new_plain(tmp_path / "shop.yaml", asker)
    assert list(tmp_path.iterdir()) == []


def test_questionary_prompts_read_real_keystrokes() -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    with create_pipe_input() as keys:
        asker = QuestionaryAsker(input=keys, output=DummyOutput())
        keys.send_text("web1.example.com\r")
        assert asker.text("Host?", "", lambda text: True) == "web1.example.com"
        keys.send_text("n")  # confirm answers on the key itself
        assert asker.confirm("Include?", True) is False
        keys.send_text("\x03")  # Ctrl-C
        with pytest.raises(KeyboardInterrupt):
            asker.text("Host?", "", lambda text: True)


def test_every_kind_of_field_has_a_prompt() -> None:
    from screens.plain import PROMPTS
    from wizard.engine.options import FieldKind

    assert set(PROMPTS) == set(FieldKind)


@pytest.mark.parametrize(("text", "value"), [("1", True), ("true", True), ("Yes", True), (" ON ", True),
                                             ("0", False), ("false", False), ("NO", False), ("off", False),
                                             ("", None)])
def test_a_yes_no_field_reads_the_usual_words(text: str, value: bool | None) -> None:
    from wizard.engine.options import FieldKind, FieldSpec

    assert FieldSpec("flag", "A flag.", FieldKind.BOOL, False, False).parse(text) is value


def test_a_yes_no_field_refuses_anything_else_in_the_operators_language() -> None:
    from wizard.engine import i18n
    from wizard.engine.options import FieldKind, FieldSpec

    spec = FieldSpec("flag", "A flag.", FieldKind.BOOL, False, False)
    for text in ("maybe", "t", "2"):
        with pytest.raises(ValueError, match="is not a yes/no value: use 1/true/yes/on or 0/false/no/off"):
            spec.parse(text)
    i18n.set_language("zh_CN")
    try:
        with pytest.raises(ValueError, match="不是是/否值"):
            spec.parse("maybe")
    finally:
        i18n.set_language("en")


def test_set_refuses_a_yes_no_setting_that_is_neither() -> None:
    """`--set` reads values through the same field declarations as the prompts: `maybe` is no longer false."""
    from wizard.app.recipefile import RecipeError, parse, with_overrides

    recipe = parse("version: 1\nname: shop\ntarget: {host: web1.example.com}\nsteps:\n  os_updates: {}\n")
    assert with_overrides(recipe, ["os_updates.unattended_upgrades=off"]).steps.os_updates.unattended_upgrades is False
    with pytest.raises(RecipeError) as info:
        with_overrides(recipe, ["os_updates.unattended_upgrades=maybe"])
    assert info.value.problems == [(None, "os_updates.unattended_upgrades",
                                    "'maybe' is not a yes/no value: use 1/true/yes/on or 0/false/no/off")]


def test_a_list_or_map_question_says_it_is_typed_comma_separated(tmp_path) -> None:
    """Issue 18, item 5: the hint is the syntax the field reads (commas), not a YAML or Python list."""
    asked: list[str] = []

    class Recording(Scripted):
        def text(self, message: str, default: str, check) -> str:
            asked.append(message)
            return super().text(message, default, check)

    asker = Recording({"Short name": ["shop"], "Host name or IP": ["web1.example.com"],
                       "Include the step: Deploy user": [True], "Git URL": ["https://git.example.com/shop.git"]})
    new_plain(tmp_path / "shop.yaml", asker)
    groups = next(message for message in asked if message.startswith("Extra groups"))
    assert groups.splitlines()[0].endswith("(values separated by commas, e.g. a, b)")
    assert not any("[" in message for message in asked)


def test_a_recipe_that_cannot_be_written_is_said_in_words(tmp_path, monkeypatch) -> None:
    import argparse

    from wizard.cli import new_edit
    from wizard.engine.errors import UsageError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("screens.plain.QuestionaryAsker", lambda: Scripted({
        "Short name": ["shop"], "Host name or IP": ["web1"], "Git URL": ["https://git.example.com/shop.git"]}))
    where = tmp_path / "missing" / "shop.yaml"
    with pytest.raises(UsageError, match=r"Cannot save .*shop.yaml: its directory does not exist") as info:
        new_edit.new(argparse.Namespace(output=str(where), plain=True))
    assert "Errno" not in str(info.value) and ".tmp" not in str(info.value)


class Asked(Scripted):
    """Scripted, recording every question with its default."""

    def __init__(self, answers: dict[str, list[object]]) -> None:
        super().__init__(answers)
        self.asked: list[tuple[str, object]] = []

    def text(self, message: str, default: str, check) -> str:
        self.asked.append((message, default))
        return super().text(message, default, check)

    def confirm(self, message: str, default: bool) -> bool:
        self.asked.append((message, default))
        return super().confirm(message, default)

    def select(self, message: str, choices: list[str], default: str) -> str:
        self.asked.append((message, default))
        return super().select(message, choices, default)


def needed() -> dict[str, list[object]]:
    """The answers that have no default (a fresh dict: Scripted uses its answers up)."""
    return {"Host name or IP": ["web1.example.com"], "Git URL": ["https://git.example.com/shop.git"]}


def test_a_new_recipe_offers_what_every_python_web_app_needs_switched_on(tmp_path) -> None:
    """Finding of the third trial: Python, Code and App server were offered off (Enter left them out)."""
    asker = Asked(needed())
    path = new_plain(tmp_path / "shop.yaml", asker)
    offered = {message.removeprefix("Include the step: ").rstrip("?"): default
               for message, default in asker.asked if message.startswith("Include the step: ")}
    assert offered["Python and virtual environment"] is True and offered["Code"] is True
    assert offered["App server (gunicorn)"] is True and offered["OS updates"] is True
    assert offered["Database"] is False and offered["nginx web server"] is False
    assert set(yaml.safe_load(path.read_text())["steps"]) == {"os_updates", "deploy_user", "python", "code",
                                                              "app_server"}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_prompt_ends_with_a_question_naming_the_field(tmp_path, lang: str) -> None:
    """Finding of the third trial: a prompt was a field's description ("A system account (no password ageing, uid
    below 1000). (Y/n)"), a statement to agree with rather than a question."""
    from wizard.engine import i18n

    i18n.set_language(lang)
    try:
        asker = Asked(needed() if lang == "en" else {"服务器的主机名": ["web1.example.com"],
                                                   "应用的 git 地址": ["https://git.example.com/shop.git"]})
        new_plain(tmp_path / "shop.yaml", asker)
    finally:
        i18n.set_language("en")
    for message, _default in asker.asked:
        last = message.splitlines()[-1]
        assert "?" in last or "？" in last, message
    system = next(message for message, _default in asker.asked if "\nsystem" in message)
    assert system.endswith("system: yes or no?" if lang == "en" else "system：是还是否？")


def test_a_long_prompt_wraps_between_words_and_chinese_lines_never_start_with_a_closing_mark() -> None:
    from rich.cells import cell_len

    from screens.plain import fit
    from wizard.app import registry
    from wizard.engine import i18n
    from wizard.engine.options import field_specs

    long = next(spec for spec in field_specs(registry.step("database").Settings) if spec.name == "schema_changes")
    lines = fit(long.text(), 60).splitlines()
    assert len(lines) > 2 and all(cell_len(line) <= 57 for line in lines)
    assert " ".join(lines).split() == long.text().split()  # no word cut in two
    i18n.set_language("zh_CN")
    try:
        zh = fit(long.text(), 60).splitlines()
    finally:
        i18n.set_language("en")
    assert len(zh) > 2 and all(cell_len(line) <= 57 for line in zh)
    assert not any(line.lstrip().startswith(("，", "。", "；", "：", "）")) for line in zh)
    assert "<user>_owner" in "".join(zh)  # an English word stays whole


def test_a_chinese_yes_no_question_says_its_keys_and_answer_in_chinese() -> None:
    """Finding of the third trial: `(Y/n)` and the answer `Yes` stayed English in Chinese."""
    import io

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.plain_text import PlainTextOutput

    from wizard.engine import i18n

    shown = io.StringIO()
    i18n.set_language("zh_CN")
    try:
        with create_pipe_input() as keys:
            asker = QuestionaryAsker(input=keys, output=PlainTextOutput(shown))
            keys.send_text("y")
            assert asker.confirm("包含步骤“代码”吗？", False) is True
            keys.send_text("\r")
            assert asker.select("选哪一个？", ["sync", "uvicorn"], "sync") == "sync"
    finally:
        i18n.set_language("en")
    text = shown.getvalue()
    assert "（y 是 / N 否，回车为否）" in text and "是" in text.split("包含步骤“代码”吗？")[-1]
    assert "(Y/n)" not in text and "(y/N)" not in text and "Yes" not in text and "Use arrow keys" not in text
    assert "（用 ↑ / ↓ 选择，再按回车）" in text


def test_an_answer_changed_from_the_one_shown_becomes_the_operators_own_for_the_goals(tmp_path) -> None:
    """Editing a public site's recipe and turning fail2ban off: the answer is the default value, yet it must stay
    off (goals.own), not follow the goals back on."""
    from screens.plain import interview
    from wizard.app.draft import Draft
    from wizard.app.recipefile import parse

    path = tmp_path / "shop.yaml"
    text = ("version: 1\nname: shop\ntarget: {host: 10.0.0.1}\nsteps:\n  goals: {audience: public}\n"
            "  firewall: {fail2ban: true}\n")
    path.write_text(text)
    asker = Scripted({"Ban addresses": [False]})
    draft = interview(asker, Draft.from_recipe(parse(text), path))
    recipe = draft.recipe()
    assert recipe.steps.firewall.fail2ban is False and recipe.steps.goals.own == ["firewall.fail2ban"]
    again = interview(Scripted({}), Draft.from_recipe(recipe, path))  # every answer kept: nothing else named
    assert again.recipe().steps.goals.own == ["firewall.fail2ban"]


def _minimal(extra: dict[str, list[object]]) -> dict[str, list[object]]:
    return {"Short name": ["shop"], "Host name or IP": ["web1.example.com"], "Include the step: Python": [False],
            "Include the step: Code": [False], "Include the step: App server": [False],
            "Include the step: nginx": [False], **extra}


def test_a_step_whose_partner_was_left_out_asks_for_it_instead_of_losing_every_answer(tmp_path) -> None:
    """A new operator took the static files and HTTPS but not nginx: the file used to be refused after the last
    answer ("needs nginx web server"), with nothing written. Now the plain mode asks, with the reason."""
    asked: list[str] = []
    asker = Scripted(_minimal({"Include the step: Static": [True], "Include “nginx web server”": [True],
                               "Domain names the site answers to": ["shop.example.com"],
                               "Include “App server (gunicorn)”": [True]}))
    confirm = asker.confirm
    asker.confirm = lambda message, default: asked.append(message) or confirm(message, default)  # type: ignore
    saved = yaml.safe_load(new_plain(tmp_path / "shop.yaml", asker).read_text())
    assert {"static", "nginx", "app_server"} <= set(saved["steps"])
    assert saved["steps"]["nginx"]["server_names"] == ["shop.example.com"]
    assert any(m.startswith("“Static and media files” needs “nginx web server”: nginx is what serves the static")
               and m.endswith("Include “nginx web server” too (no: leave “Static and media files” out)?")
               for m in asked)

    declined = Scripted(_minimal({"Include the step: Static": [True], "Include “nginx web server”": [False]}))
    saved = yaml.safe_load(new_plain(tmp_path / "shop2.yaml", declined).read_text())
    assert "static" not in saved["steps"] and "nginx" not in saved["steps"]


def test_a_partner_left_out_further_down_a_chain_is_asked_about_once(tmp_path) -> None:
    """static needs nginx, and nginx needs the app server: yes to nginx, then no to the app server leaves nginx
    out, and with it static, which needs it. Each question is asked once (it used to ask about nginx again and
    again, its questions too, for as long as the operator answered the same)."""
    asked: list[str] = []
    asker = Scripted(_minimal({"Include the step: Static": [True], "Include “nginx web server”": [True] * 9,
                               "Domain names the site answers to": ["shop.example.com"] * 9,
                               "Include “App server (gunicorn)”": [False] * 9}))
    confirm = asker.confirm
    asker.confirm = lambda message, default: asked.append(message) or confirm(message, default)  # type: ignore
    saved = yaml.safe_load(new_plain(tmp_path / "shop.yaml", asker).read_text())
    assert not {"static", "nginx", "app_server"} & set(saved["steps"])
    partners = [m for m in asked if "(no: leave" in m]
    assert len(partners) == 2 and len(set(partners)) == 2, partners


@pytest.mark.parametrize("columns", [40, 80])
def test_a_refused_answers_whole_reason_is_shown_however_narrow_the_terminal(columns: int,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """prompt_toolkit's validation toolbar is one line high: a reason longer than the terminal lost its end (a
    new operator's literal password was refused with "... (never the secret i"). Rendered for real here."""
    import io
    import re

    from prompt_toolkit.data_structures import Size
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.vt100 import Vt100_Output

    reason = ("a secret must be a reference: env:NAME, file:/path or prompt (never the secret itself), and this "
              "sentence goes on well beyond the width of any terminal it is shown in: LASTWORD")
    screen = io.StringIO()
    with create_pipe_input() as keys:
        asker = QuestionaryAsker(input=keys, output=Vt100_Output(screen, lambda: Size(rows=24, columns=columns),
                                                                 term="xterm"))
        import questionary

        real_text = questionary.text

        def text(*args, **kwargs):  # end the prompt (Ctrl-C) once the refusal is on the screen
            question = real_text(*args, **kwargs)
            question.application.after_render += lambda app: (
                keys.send_text("\x03") if app.current_buffer.validation_error else None)
            return question

        monkeypatch.setattr(questionary, "text", text)
        keys.send_text("hunter2\r")
        with pytest.raises(KeyboardInterrupt):
            asker.text("password?", "", lambda answer: reason)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    for word in reason.split():
        assert word in shown, word
