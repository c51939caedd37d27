"""The flow table: the built-in steps on their screens, and a step of the operator's own package (not in the
table) on a screen of its own, generated from its settings model and placed by its order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import Field
from textual.widgets import Button

from screens.app import WizardApp
from screens.flow import PAGES, Page, pages
from tests.tui.conftest import flow_keys, showing
from wizard.app import registry
from wizard.app.draft import Draft
from wizard.engine.commands import cmd
from wizard.engine.step import Change, Context, Ok, RunCommand, Step, StepSettings, Teaching


class CacheSettings(StepSettings):
    memory: int = Field(64, ge=1, description="Memory limit in MiB.")
    persist: bool = Field(False, description="Keep the cache on disk.")


class Cache(Step):
    """A plugin step as a user's own package would declare it (order 550: after the database)."""

    name = "cache"
    order = 550
    title = "Cache server"
    Settings = CacheSettings
    teaching = Teaching(why="A cache keeps hot data in memory.", verify=["redis-cli ping"])

    def plan(self, settings: StepSettings, facts: object, ctx: Context) -> Iterator[Change | Ok]:
        assert isinstance(settings, CacheSettings)
        yield RunCommand("install the cache server", cmd("apt-get", "install", "-y", "redis-server"))
        yield RunCommand("limit its memory", cmd("redis-cli", "config", "set", "maxmemory", f"{settings.memory}mb"))


@pytest.fixture
def with_plugin(monkeypatch: pytest.MonkeyPatch) -> Step:
    """The registry as it is with a plugin package installed beside the built-in steps."""
    installed = registry.steps()
    plugin = Cache()
    monkeypatch.setattr(registry, "steps", lambda: tuple(sorted((*installed, plugin), key=lambda s: s.order)))
    return plugin


def test_the_table_names_every_built_in_step_once() -> None:
    named = [name for page in PAGES for name in page.steps]
    assert sorted(named) == sorted(step.name for step in registry.steps())
    assert [page.key for page in pages(registry.steps())] == [page.key for page in PAGES]


def test_a_step_the_table_does_not_name_gets_its_own_page_by_its_order(with_plugin: Step) -> None:
    keys = [page.key for page in pages(registry.steps())]
    assert keys == ["goals", "environment", "os_updates+deploy_user", "python", "code", "database", "cache",
                    "static+app_server+nginx", "redis+workers", "tls+firewall", "monitoring", "jobs+backups"]
    own = pages(registry.steps())[6]
    assert own.title() == "Cache server"


class LateCache(Cache):
    name = "late_cache"
    order = 5000


def test_a_step_after_every_table_step_comes_last(with_plugin: Step) -> None:
    assert [page.key for page in pages((*registry.steps(), LateCache()))][-2:] == ["jobs+backups", "late_cache"]


def test_a_table_step_that_is_not_installed_is_left_out() -> None:
    table = (Page(lambda: "A", ("os_updates", "not_installed")), Page(lambda: "B", ("gone",)))
    keys = [page.key for page in pages(registry.steps(), table)]
    assert keys[:3] == ["goals", "environment", "os_updates"]  # steps the table does not name come by their order
    assert "gone" not in [page.key for page in pages(registry.steps(), table)]


async def test_a_plugin_step_screen_is_generated_from_its_settings(with_plugin: Step) -> None:
    flow = flow_keys()
    app = WizardApp(Draft(name="demo", enabled={"cache"}), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        app.goto(flow["database"])
        await pilot.pause()
        await pilot.click("#next")
        await pilot.pause()
        assert showing(app) == "cache"
        assert "Cache server" in str(app.screen.query_one(".title").render())
        assert app.screen.query_one("#cache-persist").value is False  # a yes/no field is a switch
        await pilot.pause(0.5)
        assert "maxmemory 64mb" in str(app.screen.query_one("#plan").render())
        app.screen.query_one("#cache-memory").value = "0"
        await pilot.pause()
        await pilot.click("#next")
        await pilot.pause()
        assert showing(app) == "cache"  # refused: the model's own rule (ge=1)
        app.screen.query_one("#cache-memory").value = "256"
        await pilot.pause()
        app.screen.query_one("#next", Button).press()  # not a click: the refusal's toast may cover the button
        await pilot.pause()
        assert showing(app) == "static+app_server+nginx"
    assert app.draft.values("cache") == {"memory": 256}
