"""The whole wizard flow driven with the pilot against a real sandbox: trust-on-first-use modal, sudo
password modal, review, run, summary; the saved recipe equals what was typed and the server has it."""

from __future__ import annotations

import asyncio

import yaml

from screens.app import WizardApp
from tests.live.conftest import on_box
from tests.tui.conftest import flow_keys, type_into
from wizard.app.draft import Draft
from wizard.lab.sandbox import OPS_PASSWORD


async def wait_for(pilot, name: str, seconds: float = 300) -> None:
    for _ in range(int(seconds * 10)):
        if type(pilot.app.screen).__name__ == name:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not appear; on {type(pilot.app.screen).__name__}")


async def test_wizard_flow_against_the_sandbox(box, live_dirs, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "fresh-config"))  # the box's key is not known here
    recipe_path = tmp_path / "tui.yaml"
    app = WizardApp(Draft(), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        await type_into(pilot, "#app-name", "tui")
        await type_into(pilot, "#target-host", box.ip)
        await type_into(pilot, "#target-user", "ops")
        await type_into(pilot, "#target-key", box.key)
        await pilot.click("#test")
        await wait_for(pilot, "HostKeyModal", 30)
        assert box.fingerprint in str(app.screen.query_one("#fingerprint").render())
        await pilot.click("#trust")
        for _ in range(100):
            await asyncio.sleep(0.1)
            if "Connected as ops" in str(app.screen.query_one("#probe").render()):
                break
        probe = str(app.screen.query_one("#probe").render())
        assert "Connected as ops" in probe and "Debian GNU/Linux 13" in probe and "sudo asks a password" in probe
        for _ in range(len(flow_keys())):  # Next past the pages before the OS updates (goals, where it runs)
            await pilot.click("#next")
            await pilot.pause()
            if app.screen.query("#os_updates-lists_max_age"):
                break
        await type_into(pilot, "#os_updates-lists_max_age", "604800")
        app.screen.query_one("#os_updates-upgrade").value = "none"
        await type_into(pilot, "#os_updates-packages", "tree")
        await type_into(pilot, "#os_updates-timezone", "Europe/Paris")
        await type_into(pilot, "#deploy_user-name", "tuiuser")
        for _ in range(len(flow_keys())):  # Next through every page to the Review
            if type(app.screen).__name__ == "ReviewScreen":
                break
            await pilot.click("#next")
            await pilot.pause()
        await wait_for(pilot, "ReviewScreen", 10)
        await type_into(pilot, "#recipe-path", str(recipe_path))
        await pilot.click("#run")
        await wait_for(pilot, "PasswordModal", 120)  # sudo asks ops for a password: asked once, in a modal
        await type_into(pilot, "#password", OPS_PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, "SummaryScreen", 600)
        summary = str(app.screen.query_one(".title").render())
        assert "the server matches the recipe" in summary
    saved = yaml.safe_load(recipe_path.read_text())
    # the key trusted in the dialog is the recipe's pin: a replay from another machine is pinned too
    assert saved["target"] == {"host": box.ip, "port": 22, "user": "ops", "key": box.key, "host_key": box.fingerprint}
    typed = {"os_updates": {"lists_max_age": 604800, "upgrade": "none", "packages": ["tree"],
                            "timezone": "Europe/Paris"},
             "deploy_user": {"name": "tuiuser"}}
    assert set(saved["steps"]) == set(typed)
    for step, values in typed.items():  # the file also spells out the defaults (resolved values)
        assert {k: saved["steps"][step][k] for k in values} == values
    assert OPS_PASSWORD not in recipe_path.read_text()
    state = on_box(box, "readlink /etc/localtime; id -u tuiuser >/dev/null && echo user-ok; dpkg -s tree | head -2")
    assert "Europe/Paris" in state.stdout and "user-ok" in state.stdout and "install ok installed" in state.stdout


async def test_failure_modal_retry_after_fixing_the_cause(box, live_dirs, tmp_path, monkeypatch) -> None:
    from tests.live.conftest import write_recipe
    from wizard.app.recipefile import load

    monkeypatch.setenv("XDG_CONFIG_HOME", str(live_dirs / "config"))  # the box's key is trusted there
    path = write_recipe(tmp_path / "retry.yaml", box, "  deploy_user:\n    name: retryuser\n    groups: [dwgroup]\n")
    app = WizardApp(Draft.from_recipe(load(path), path), start="flow")
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        app.goto(flow_keys()["review"])
        await wait_for(pilot, "ReviewScreen", 10)
        await pilot.pause(0.5)
        await pilot.click("#run")
        await wait_for(pilot, "FailureModal", 120)  # useradd: group 'dwgroup' does not exist
        shown = " ".join(str(widget.render()) for widget in app.screen.query("Static"))
        assert "retryuser" in shown or "dwgroup" in shown
        assert on_box(box, "groupadd dwgroup && echo made").stdout.strip() == "made"  # the operator fixes it
        modal = app.screen
        await pilot.pause()  # a loaded machine lays the dialog out late: a click before that lands nowhere
        await pilot.wait_for_scheduled_animations()
        assert modal.query_one("#retry").region.area > 0
        await pilot.click("#retry")
        for _ in range(1200):  # the retry either reaches the Summary or fails again with a new reason: say which
            if app.screen is not modal and type(app.screen).__name__ in ("SummaryScreen", "FailureModal"):
                break
            await asyncio.sleep(0.1)
        if type(app.screen).__name__ == "FailureModal":
            again = " ".join(str(widget.render()) for widget in app.screen.query("Static"))
            raise AssertionError(f"the retry failed again: {again}")
        await wait_for(pilot, "SummaryScreen", 1)
        assert "the server matches the recipe" in str(app.screen.query_one(".title").render())
    assert "dwgroup" in on_box(box, "id -nG retryuser").stdout


async def test_step_through_pauses_before_every_change(box, live_dirs, tmp_path, monkeypatch) -> None:
    from tests.live.conftest import write_recipe
    from wizard.app.recipefile import load

    monkeypatch.setenv("XDG_CONFIG_HOME", str(live_dirs / "config"))
    path = write_recipe(tmp_path / "steps.yaml", box, "  deploy_user:\n    name: stepuser\n    authorized_keys:\n"
                        f"      - {box.host_key} k@x\n")
    app = WizardApp(Draft.from_recipe(load(path), path), start="flow")
    shown: list[str] = []
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        app.goto(flow_keys()["review"])
        await wait_for(pilot, "ReviewScreen", 10)
        await pilot.pause(0.5)
        app.screen.query_one("#step-through").value = True
        await pilot.click("#run")
        for _ in range(3):  # useradd, the .ssh directory, the key file: each explained first
            await wait_for(pilot, "ChangeModal", 120)
            while not app.screen.query("#go"):  # pushed, and composed a moment later
                await pilot.pause(0.05)
            shown.append(app.screen.change.why)
            await pilot.click("#go")
            await pilot.pause()
        await wait_for(pilot, "SummaryScreen", 120)
    assert shown[0].startswith("create the user stepuser") and len(shown) == 3
