"""Sandbox failures are expected failures: `deploy-wizard sandbox` prints them and exits with their code.

Why without a real sandbox: what is checked here is the path from wizard.lab's SandboxError to the message
and the exit code, which must not need root, systemd-nspawn or minutes of debootstrap; booting one is the
live tests' job (tests/live).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.cli import main
from wizard.engine import i18n
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.lab import host, image, instance, sandbox


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty sandbox state directory on a machine that passes the host check; building an image fails."""
    monkeypatch.setenv("DEPLOY_WIZARD_SANDBOX_DIR", str(tmp_path / "lab"))
    for module in (sandbox, instance, image):
        monkeypatch.setattr(module, "check_host", lambda: None)

    def no_image(progress: object = None) -> Path:
        raise AssertionError("the name is checked before the image is built")

    monkeypatch.setattr(instance, "ensure_image", no_image)
    return tmp_path / "lab"


def test_a_sandbox_error_is_an_expected_failure() -> None:
    error = sandbox.SandboxError("boom")
    assert isinstance(error, DeployWizardError)
    assert error.exit_code == ExitCode.FAILED and not error.bare


def test_an_unknown_sandbox_is_bad_input(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "down", "nosuch"]) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.strip() == (
        "Error: No sandbox named 'nosuch'. `deploy-wizard sandbox status` lists them.")
    assert main(["sandbox", "ssh", "nosuch"]) == ExitCode.BAD_INPUT


def test_a_bad_name_is_refused_before_any_image_is_built(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "up", "--name", "Bad_Name"]) == ExitCode.BAD_INPUT
    assert "Error: Bad sandbox name 'Bad_Name': use 1-12 of a-z" in capsys.readouterr().err


def test_a_machine_that_cannot_run_a_sandbox_fails_with_the_reason(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(host.sys, "platform", "linux")
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    assert main(["sandbox", "up"]) == ExitCode.FAILED
    assert capsys.readouterr().err.strip() == (
        "Error: The sandbox needs root (overlay mounts, veth network, NAT). Run it with sudo.")


def test_the_message_is_translated(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        assert main(["--lang", "zh_CN", "sandbox", "down", "nosuch"]) == ExitCode.BAD_INPUT
    finally:
        i18n.set_language("en")
    assert "没有名为 'nosuch' 的沙盒" in capsys.readouterr().err


def test_ssh_takes_user_after_the_name_as_the_readme_writes_it() -> None:
    from wizard.cli.sandbox import ssh_options

    assert ssh_options("root", ["--user", "admin", "hostname", "-f"]) == ("admin", ["hostname", "-f"])
    assert ssh_options("root", ["--user=ops", "--", "ls", "--user"]) == ("ops", ["ls", "--user"])
    assert ssh_options("admin", ["uptime"]) == ("admin", ["uptime"])


def test_a_user_name_that_is_an_ssh_option_is_refused(tmp_path, monkeypatch) -> None:
    from wizard.lab import instance

    monkeypatch.setattr(instance, "_run_dir", lambda name: tmp_path)
    (tmp_path / "info.json").write_text("{}")
    with pytest.raises(instance.SandboxError, match="is not a user name"):
        instance.ssh_command("t1", "-oProxyCommand=touch /tmp/x")


def test_down_without_a_name_never_stops_every_sandbox(monkeypatch, capsys) -> None:
    from wizard.lab import sandbox

    monkeypatch.setattr(sandbox, "list_sandboxes", lambda: [type("S", (), {"name": "t1"})()])
    stopped: list[str] = []
    monkeypatch.setattr(sandbox, "down", lambda name, **kw: stopped.append(name))
    assert main(["sandbox", "down"]) == ExitCode.BAD_INPUT
    assert "Name the sandboxes to stop (t1), or give --all" in capsys.readouterr().err
    assert stopped == []
    assert main(["sandbox", "down", "--all"]) == ExitCode.OK and stopped == ["t1"]


def test_two_boots_at_once_build_the_image_once(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI's two live lanes (or two terminals) on a machine without the image: one builds, the other waits for it
    and then boots on the same image instead of debootstrapping into the same directory."""
    import threading

    builds: list[str] = []
    building = threading.Event()

    def slow_build(final: Path, release: str, progress: object) -> None:
        builds.append(release)
        building.set()
        threading.Event().wait(0.5)  # the second caller arrives while this one builds
        (final / "rootfs").mkdir(parents=True)
        (final / "ready").write_text("ready\n")

    monkeypatch.setattr(image, "_build", slow_build)
    said: list[str] = []
    results: list[Path] = []
    first = threading.Thread(target=lambda: results.append(image.ensure_image("trixie", progress=said.append)))
    first.start()
    building.wait(5)
    results.append(image.ensure_image("trixie", progress=said.append))
    first.join(5)
    assert builds == ["trixie"]
    assert said == ["Another process is building a sandbox image; waiting for it ..."]
    assert results == [image.image_dir("trixie") / "rootfs"] * 2
    assert image.ensure_image("trixie", progress=said.append) == results[0] and len(said) == 1  # ready: no wait


@pytest.fixture
def sysctls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A stand-in for /proc/sys/fs/inotify with the kernel's defaults (128 instances)."""
    from wizard.lab import limits

    folder = tmp_path / "inotify"
    folder.mkdir()
    (folder / "max_user_instances").write_text("128\n")
    (folder / "max_user_watches").write_text("192546\n")
    monkeypatch.setattr(limits, "SYSCTL_DIR", folder)
    return folder


def test_the_inotify_limit_is_raised_once_with_what_and_why(sysctls: Path) -> None:
    from wizard.lab import limits

    said: list[str] = []
    limits.ensure_inotify(0, said.append)
    wanted = 128 + 16 * limits.MAX_SANDBOXES
    assert (sysctls / "max_user_instances").read_text() == f"{wanted}\n"
    assert (sysctls / "max_user_watches").read_text() == "192546\n"  # enough already: left alone
    assert len(said) == 1
    assert said[0].startswith(f"Raised fs.inotify.max_user_instances from 128 to {wanted}, room for 200 sandboxes")
    assert "about the 20th sandbox does not boot" in said[0] and "/etc/sysctl.d/" in said[0]
    said.clear()
    limits.ensure_inotify(49, said.append)  # the 50th: room already made, nothing said
    assert said == [] and (sysctls / "max_user_instances").read_text() == f"{wanted}\n"


def test_the_inotify_limits_are_never_lowered(sysctls: Path) -> None:
    from wizard.lab import limits

    (sysctls / "max_user_instances").write_text("65536\n")
    (sysctls / "max_user_watches").write_text("1000\n")
    said: list[str] = []
    limits.ensure_inotify(3, said.append)
    assert (sysctls / "max_user_instances").read_text() == "65536\n"
    assert (sysctls / "max_user_watches").read_text() == f"{8192 + 1024 * limits.MAX_SANDBOXES}\n"
    assert [line.split(" from ")[0] for line in said] == ["Raised fs.inotify.max_user_watches"]


def test_a_limit_that_cannot_be_raised_is_a_warning_with_the_command(sysctls: Path, monkeypatch) -> None:
    from wizard.lab import limits

    monkeypatch.setattr(Path, "write_text", lambda self, text: (_ for _ in ()).throw(PermissionError(
        13, "Read-only file system")))
    said: list[str] = []
    limits.ensure_inotify(19, said.append)
    assert len(said) == 1 and said[0].startswith("Warning: fs.inotify.max_user_instances is 128, and 20 sandboxes "
                                                 "may need 448")
    assert "sysctl -w fs.inotify.max_user_instances=3328" in said[0]


def test_a_failed_boot_keeps_its_console_log_and_names_it(lab: Path, monkeypatch, sysctls: Path) -> None:
    run = lab / "run" / "box7"
    run.mkdir(parents=True)
    (run / "console.log").write_text("Welcome to Debian\nFailed to allocate manager object: Too many open files\n"
                                     "[!!!!!!] Failed to allocate manager object.\nFreezing execution.\n")
    downed: list[str] = []
    monkeypatch.setattr(instance, "down", lambda name, progress=None: downed.append(name))
    error = instance._boot_failed("box7", "The sandbox did not answer on 10.99.7.2:22 within 90 s.")
    kept = list((lab / "logs").glob("box7-*.console.log"))
    assert downed == ["box7"] and len(kept) == 1
    assert "Freezing execution." in kept[0].read_text()
    message = str(error)
    assert message.startswith("The sandbox did not answer on 10.99.7.2:22 within 90 s. The last lines of its console:")
    assert "Failed to allocate manager object: Too many open files" in message
    assert "ran out of inotify instances (fs.inotify.max_user_instances is 128;" in message
    assert "sysctl -w fs.inotify.max_user_instances=3328" in message
    assert message.endswith(f"The whole console log is kept in {kept[0]}")


def test_a_boot_failure_without_the_symptom_gets_no_inotify_hint() -> None:
    from wizard.lab import limits

    assert limits.explain_boot_failure("Welcome to Debian\nsshd: fatal: no host keys\n") == ""


def test_a_domain_is_checked_before_any_image_is_built(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`up --lab --domain NAME` makes the server resolve your own app's name; a bad one or one without the lab is
    refused at once, naming the problem (a typo must not cost a boot)."""
    assert main(["sandbox", "up", "--lab", "--domain", "books example.test"]) == ExitCode.BAD_INPUT
    assert ("Error: --domain: 'books example.test' is not a valid host name: labels of a-z 0-9 and -"
            in capsys.readouterr().err)
    assert main(["sandbox", "up", "--domain", "books.example.test"]) == ExitCode.BAD_INPUT
    assert "Error: --domain needs --lab: the lab makes the sandbox resolve those names to itself." in (
        capsys.readouterr().err)
    for name in ("localhost", "books", "10.0.0.7"):  # they would rewrite what the server's own names mean
        assert main(["sandbox", "up", "--lab", "--domain", name]) == ExitCode.BAD_INPUT
        assert f"Error: --domain: '{name}' is not a site's name (it needs a dot" in capsys.readouterr().err
