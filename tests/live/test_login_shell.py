"""Issue 17, live: deploy_user.shell is checked against the server's own /etc/shells, in the step's first round of
facts: a shell it does not list stops the plan naming the field, one it lists (or one os_updates installs) passes."""

from __future__ import annotations

from tests.live.conftest import cli, events, finished, on_box, write_recipe


def plan(box, live_dirs, name: str, steps: str):  # noqa: ANN001, ANN201
    path = write_recipe(live_dirs / f"{name}.yaml", box, steps)
    return cli(live_dirs, "plan", str(path), "--json", "--accept-new-host-key")


def test_a_shell_the_server_does_not_list_stops_the_plan_naming_the_field(box, live_dirs) -> None:
    assert on_box(box, "grep -qx /usr/bin/zsh /etc/shells").returncode == 1  # a fresh Debian has no zsh
    result = plan(box, live_dirs, "zsh", "  deploy_user: {name: shop, shell: /usr/bin/zsh}\n")
    failed = [e for e in events(result) if e["event"] == "step_failed"]
    assert result.returncode != 0 and failed and failed[0]["step"] == "deploy_user"
    assert "deploy_user.shell: /usr/bin/zsh is not listed in the server's /etc/shells" in str(failed[0]["error"])
    assert on_box(box, "getent passwd shop").returncode == 2  # a plan changes nothing


def test_a_listed_shell_and_one_the_recipe_installs_pass(box, live_dirs) -> None:
    listed = plan(box, live_dirs, "bash", "  deploy_user: {name: shop, shell: /bin/bash}\n")
    assert listed.returncode == 0 and finished(listed)["ok"], listed.stdout[-2000:] + listed.stderr[-2000:]
    installed = plan(box, live_dirs, "zsh-installed", "  os_updates: {packages: [zsh]}\n"
                     "  deploy_user: {name: shop, shell: /usr/bin/zsh}\n")
    assert installed.returncode == 0 and finished(installed)["ok"], installed.stdout[-2000:]
    assert "once os_updates installs zsh" in installed.stdout
