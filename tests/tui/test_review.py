"""The Review screen (issue 11): every `prompt` secret is asked first, one dialog each with its own words (a new
password typed twice), then every step is planned in the passes apply makes and shown with its changes, what
only the run decides (with the reason), its warnings, and counts that are the run's own.

The server is this machine (the local transport standing in for SSH, so the sudo password's way from the dialog
to the connection is checked too), and a step of the test's own writes under a temporary directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, ClassVar

import pytest

from screens.app import WizardApp
from screens.password_modal import PasswordModal
from tests.tui.conftest import flow_keys, showing, type_into
from wizard.app import registry
from wizard.app.draft import Draft
from wizard.app.recipefile import Recipe
from wizard.engine.commands import cmd
from wizard.engine.facts import FactValues, PathInfo
from wizard.engine.i18n import set_language
from wizard.engine.step import Change, Context, Later, Ok, RunCommand, Step, StepSettings, Teaching, Warn
from wizard.engine.transports.local import LocalTransport
from wizard.engine.validators import Prompted, SecretRef

FLOW = flow_keys()


class VaultSettings(StepSettings):
    root: str
    password: Annotated[SecretRef, Prompted("Password of the vault", "The vault is sealed with it.", new=True)] = (
        "prompt")
    token: SecretRef = "prompt"


class Vault(Step):
    """Reads both secrets in its plan, warns, creates a directory, and leaves the rest to the run."""

    name = "vault"
    order = 150
    title = "vault"
    Settings = VaultSettings
    teaching = Teaching(why="test")
    seen: ClassVar[list[tuple[str, str]]] = []  # the secrets each plan read, as (password, token)

    def facts(self, s: VaultSettings, known: FactValues, ctx: Context) -> list[PathInfo]:
        return [PathInfo(s.root + "/vault")]

    def plan(self, s: VaultSettings, facts: FactValues, ctx: Context) -> Iterator[Change | Ok | Warn]:
        type(self).seen.append((ctx.secret(s.password, "vault.password").reveal(),
                                ctx.secret(s.token, "vault.token").reveal()))
        yield Warn("the vault has no backup", "add one")
        if facts[PathInfo(s.root + "/vault")] is None:
            yield RunCommand("create the vault", cmd("mkdir", s.root + "/vault"),
                             leaves=((PathInfo(s.root + "/vault"), {"type": "directory", "mode": "755",
                                                                    "owner": "root", "group": "root"}),))
            yield Later("fill the vault", "what it holds is read once it exists")
        else:
            yield Ok("the vault exists")


class LocalSSH(LocalTransport):
    """The SSH transport's place, on this machine; asks the sudo password once connected, as sudo would."""

    made: ClassVar[list[LocalSSH]] = []

    def __init__(self, target: object, *, trust_callback: object = None, keys: object = None, store: object = None,
                 **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.sudo_password: str | None = None
        type(self).made.append(self)

    async def connect(self) -> None:
        await super().connect()
        assert self.password_callback is not None
        self.sudo_password = await self.password_callback("sudo")


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Draft:
    """A draft whose recipe logs in with a `prompt` sudo password and selects the vault step only."""
    Vault.seen, LocalSSH.made = [], []
    settings = VaultSettings(root=str(tmp_path))
    monkeypatch.setattr(Recipe, "selected", lambda self: [(Vault(), settings)])
    step = registry.step
    monkeypatch.setattr(registry, "step", lambda name: Vault() if name == "vault" else step(name))
    monkeypatch.setattr("wizard.app.session.SSHTransport", LocalSSH)
    draft = Draft(name="demo", enabled=set())
    draft.target = {"host": "localhost", "user": "admin", "sudo_password": "prompt"}
    return draft


async def dialog(pilot, title: str) -> PasswordModal:  # noqa: ANN001
    """The password dialog once it is up, checked to be the one named."""
    for _ in range(100):
        if isinstance(pilot.app.screen, PasswordModal):
            break
        await pilot.pause(0.05)
    screen = pilot.app.screen
    assert isinstance(screen, PasswordModal), showing(pilot.app)
    assert str(screen.query_one("#password-title").render()) == title
    assert screen.label in str(screen.query_one("#password-label").render())  # the setting it answers
    return screen


async def answer(pilot, title: str, value: str) -> tuple[str, bool]:  # noqa: ANN001
    """Type `value` into the dialog named; its text, and whether it asked for the value twice."""
    screen = await dialog(pilot, title)
    text, twice = str(screen.query_one("#password-text").render()), bool(screen.query("#confirm"))
    await type_into(pilot, "#password", value)
    await pilot.click("#ok")
    await pilot.pause()
    return text, twice


async def planned(pilot) -> str:  # noqa: ANN001
    """The plan output once the run finished (its last line says OK or FAILED)."""
    for _ in range(200):
        text = str(pilot.app.screen.query_one("#plan-output").render())
        if "round trip" in text or "Error:" in text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(text)


async def plan_the_vault(pilot) -> str:  # noqa: ANN001
    pilot.app.goto(FLOW["review"])
    await pilot.pause()
    await pilot.click("#plan")
    text, twice = await answer(pilot, "sudo password for admin@localhost", "sudo-pw-123")
    assert "sudo" in text and not twice  # an existing password: typed once
    new = await dialog(pilot, "Password of the vault")
    await type_into(pilot, "#password", "vault-pw-123")
    await type_into(pilot, "#confirm", "vault-pw-123-typo")
    await pilot.click("#ok")
    await pilot.pause()
    assert pilot.app.screen is new  # two different entries are no answer
    assert "differ" in str(new.query_one("#password-error").render())
    await type_into(pilot, "#confirm", "vault-pw-123")
    await pilot.click("#ok")
    await pilot.pause()
    text, twice = await answer(pilot, "Secret vault.token", "token-123")
    assert "sudo" not in text and not twice
    return await planned(pilot)


async def test_every_prompt_secret_is_asked_first_then_every_step_is_planned(vault: Draft) -> None:
    app = WizardApp(vault, start="flow")
    async with app.run_test(size=(100, 60)) as pilot:
        text = await plan_the_vault(pilot)
    assert [m.sudo_password for m in LocalSSH.made] == ["sudo-pw-123"]  # from the dialog to the connection
    assert Vault.seen and set(Vault.seen) == {("vault-pw-123", "token-123")}  # every pass of the plan read them
    assert "! the vault has no backup" in text and "add one" in text
    assert "+ create the vault" in text and "mkdir " in text
    assert "? fill the vault (decided at run time: what it holds is read once it exists)" in text
    assert "to change: 1, decided at run time: 1" in text
    table = [line.split() for line in text.splitlines() if line.split()[:2] in (["step", "planned"], ["vault", "1"])]
    assert table == [["step", "planned", "decided", "at", "run", "time"], ["vault", "1", "1"]]  # per step, apart
    assert "OK: 1 change (vault)" in text and "and 1 change decided at run time (marked ?)" in text


async def test_the_counts_shown_are_the_ones_the_run_makes(vault: Draft, tmp_path: Path) -> None:
    """The plan's 1 change is what apply runs; what it left to the run turned out to need nothing."""
    app = WizardApp(vault, start="flow")
    async with app.run_test(size=(100, 60)) as pilot:
        await plan_the_vault(pilot)
        assert not (tmp_path / "vault").exists()  # planning changed nothing
        await type_into(pilot, "#recipe-path", str(tmp_path / "demo.yaml"))
        await pilot.click("#run")
        for _ in range(1200):  # up to a minute: a loaded machine (CI) runs the stand-in run slowly
            if showing(app) == "SummaryScreen":
                break
            assert not isinstance(app.screen, PasswordModal)  # the review's answers serve the run
            await asyncio.sleep(0.05)
        result = app.screen.result  # type: ignore[attr-defined]
    assert result is not None and result.ok and result.changes == 1 and result.changed_steps == ["vault"]
    assert (tmp_path / "vault").is_dir()
    assert [m.sudo_password for m in LocalSSH.made] == ["sudo-pw-123", "sudo-pw-123"]


async def test_the_dialog_takes_the_keys_typed_right_away(vault: Draft) -> None:
    app = WizardApp(vault, start="flow")
    async with app.run_test(size=(80, 24)) as pilot:
        app.goto(FLOW["review"])
        await pilot.pause()
        await pilot.click("#plan")
        screen = await dialog(pilot, "sudo password for admin@localhost")
        await pilot.press(*"s3cret")
        assert screen.query_one("#password").value == "s3cret"
        await pilot.press("escape")
        await pilot.pause()


async def test_a_secret_left_unanswered_stops_before_any_connection(vault: Draft) -> None:
    app = WizardApp(vault, start="flow")
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto(FLOW["review"])
        await pilot.pause()
        await pilot.click("#plan")
        await dialog(pilot, "sudo password for admin@localhost")
        await pilot.press("escape")
        await pilot.pause()
        text = str(app.screen.query_one("#plan-output").render())
    assert "Not planned: target.sudo_password is set to 'prompt'" in text
    assert LocalSSH.made == [] and Vault.seen == []


@pytest.mark.parametrize(("lang", "title", "sudo"), [("en", "Password of the app's database role", "sudo"),
                                                     ("zh_CN", "应用数据库角色的密码", "sudo")])
async def test_the_database_password_has_a_dialog_of_its_own(monkeypatch: pytest.MonkeyPatch, lang: str, title: str,
                                                             sudo: str) -> None:
    monkeypatch.setattr("wizard.app.session.SSHTransport", LocalSSH)
    LocalSSH.made = []
    draft = Draft(name="demo", enabled={"database"})
    draft.target = {"host": "localhost", "user": "admin"}
    draft.steps = {"database": {"password": "prompt"}}
    set_language(lang)
    try:
        app = WizardApp(draft, start="flow")
        async with app.run_test(size=(80, 24)) as pilot:
            app.goto(FLOW["review"])
            await pilot.pause()
            await pilot.click("#plan")
            screen = await dialog(pilot, title)
            assert sudo not in str(screen.query_one("#password-text").render())
            assert screen.query("#confirm")  # a password the run sets: typed twice
            await pilot.click("#cancel")
            await pilot.pause()
            text = str(app.screen.query_one("#plan-output").render())
    finally:
        set_language("en")
    assert "database.password" in text and LocalSSH.made == []
