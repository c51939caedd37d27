"""Messages in the operator's language beyond the catalogs' coverage (issue 11): pydantic's range and type errors,
plural forms, the words one English "OK" needs per context, a plan's file lines and the server-side notices."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from wizard.app.recipefile import RecipeError, Target, parse, with_overrides
from wizard.engine import i18n
from wizard.engine.events import RunFinished, RunStarted, StepFinished
from wizard.engine.options import validate
from wizard.engine.sinks import ConsoleSink
from wizard.engine.step import PutFile
from wizard.engine.transports.base import _said


@pytest.fixture
def chinese() -> Iterator[None]:
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def test_a_range_error_of_a_form_field_reads_as_pydantic_says_it_in_english() -> None:
    _model, errors = validate(Target, {"host": "web1", "port": "0"})
    assert errors == {"port": "Input should be greater than or equal to 1"}


def test_range_and_type_errors_are_chinese(chinese: None) -> None:
    assert validate(Target, {"host": "web1", "port": "70000"})[1] == {"port": "应小于或等于 65535"}
    assert validate(Target, {"host": "web1", "port": "many"})[1] == {"port": "'many' 不是数字"}
    assert validate(Target, {"port": "22"})[1] == {"host": "缺少必填设置"}


def test_a_recipe_line_and_a_set_override_say_it_in_chinese_too(chinese: None) -> None:
    with pytest.raises(RecipeError) as found:
        parse("version: 1\nname: demo\ntarget: {host: web1, port: 0}\n", "r.yaml")
    assert found.value.problems == [(3, "target.port", "应大于或等于 1")]
    with pytest.raises(RecipeError) as found:
        with_overrides(parse("version: 1\ntarget: {host: web1}\nsteps: {database: {password: env:X}}\n"),
                       ["database.engine=oracle"])
    assert found.value.problems == [(None, "steps.database.engine", "应为 'postgresql' 或 'mariadb'")]


def test_a_context_picks_its_own_translation_and_english_stays_the_same() -> None:
    assert (i18n._("OK"), i18n._("OK", context="button")) == ("OK", "OK")
    i18n.set_language("zh_CN")
    try:
        said = (i18n._("OK"), i18n._("OK", context="button"), i18n._("OK", context="check"))
        assert said == ("成功", "确定", "无偏差")
    finally:
        i18n.set_language("en")


def console(mode: str, changes: int, later: int = 0) -> str:
    out = io.StringIO()
    sink = ConsoleSink(out)
    sink(RunStarted("web1", mode, ["nginx"]))
    sink(StepFinished("nginx", "planned" if changes or later else "ok", changes, 0.25, 3, later=later))
    sink(RunFinished(True, changes, ["nginx"] if changes else [], 1.5, 7, later=later, commands=12))
    return out.getvalue()


def test_counts_take_their_plural_form() -> None:
    assert console("plan", 1).splitlines()[0] == "Planning 1 step on web1"
    assert "OK: 1 change (nginx)" in console("plan", 1) and "OK: 2 changes (nginx)" in console("plan", 2)
    assert "and 1 change decided at run time (marked ?)" in console("plan", 0, later=1)
    assert console("plan", 1).endswith(", 12 remote commands in 7 round trips\n")
    out = io.StringIO()
    ConsoleSink(out)(RunFinished(True, 0, [], 0.1, 1, commands=1))
    assert out.getvalue() == "OK: 0 changes (-), 0.1 s, 1 remote command in 1 round trip\n"


def test_a_plan_or_a_check_that_went_fine_is_not_called_a_success(chinese: None) -> None:
    assert console("plan", 2, later=1).splitlines()[-2].startswith("计划完成：2 项改动（nginx）")
    assert "待改动：2，运行时确定：1（0.2 秒）" in console("plan", 2, later=1)
    assert console("check", 0).splitlines()[-1].startswith("无偏差：0 项改动")
    assert console("apply", 3).splitlines()[-1].startswith("成功：3 项改动")


def test_a_file_of_the_plan_is_described_and_diffed_in_chinese(chinese: None) -> None:
    one = PutFile("write it", "/etc/x", b"a", mode="0600")
    assert one.describe() == "写入 /etc/x（权限 0600，root:root，1 字节）"
    assert "+++ /etc/x（计划后）" in one.diff()
    assert PutFile("w", "/etc/y", b"k", secret=True).diff() == "（/etc/y 的内容已隐藏：其中含有机密）"


def test_a_file_of_the_plan_counts_its_bytes_in_english() -> None:
    assert PutFile("w", "/etc/x", b"a").describe() == "write /etc/x (mode 0644, root:root, 1 byte)"
    assert PutFile("w", "/etc/x", b"ab").describe() == "write /etc/x (mode 0644, root:root, 2 bytes)"


def test_a_server_side_notice_is_a_printf_format_that_takes_the_known_values_literally() -> None:
    said = _said("refusing to write {path}: {link} is a symbolic link", path="/srv/100%\\n", link=None)
    assert said == "refusing to write /srv/100%%\\\\n: %s is a symbolic link"
