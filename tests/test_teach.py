"""The teaching of every step, filled in for the example recipes: real names, sudo where root is needed, no
placeholder left, the same placeholders in Chinese, and every command a shell can read as shown."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.conftest import ROOT
from wizard.app import registry
from wizard.app.draft import Draft
from wizard.app.recipefile import Recipe, load, parse
from wizard.app.teach import BASE_PLACEHOLDERS, Lesson, Login, Teacher, as_typed, fill, typed, verify_lines
from wizard.engine import i18n
from wizard.engine.commands import cmd
from wizard.engine.step import Check

EXAMPLES = ["flask-app.yaml", "django-app.yaml"]
# placeholders the built-in steps fill in (Step.teaching_values), and words older texts used for one
STEP_PLACEHOLDERS = ("DB_NAME", "DB_USER", "STATIC_DIR", "MEDIA_DIR", "MODULE", "SITE", "SCHEME", "HEALTH_URL",
                     "HTTP_PORT", "NODE_EXPORTER")
PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9_$])(" + "|".join((*BASE_PLACEHOLDERS, *STEP_PLACEHOLDERS, "NAME"))
                         + r")(?![A-Za-z0-9_])")
# what only root may read or do on a Debian server set up by these steps
ROOT_ONLY = re.compile(r"^(apt-get update|nginx -t|certbot|/opt/certbot/bin/certbot|ufw|sshd -T|ss -tlnp|journalctl|"
                       r"mysql|fail2ban-client|curl [^|]*--unix-socket /run/)|/var/log/[a-z0-9_-]+/|/shared/env\b|"
                       r"/etc/letsencrypt")


def lessons(recipe: Recipe, login_user: str | None = None) -> list[Lesson]:
    return Teacher.for_recipe(recipe, login_user).lessons()


def texts(lesson: Lesson) -> list[str]:
    return [lesson.why, *(c.typed for c in lesson.checks), *(c.note for c in lesson.checks),
            *(t for pair in lesson.troubleshoot for t in pair)]


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_lesson_of_the_examples_is_filled_in(example: str, lang: str) -> None:
    recipe = load(ROOT / "examples" / example)
    i18n.set_language(lang)
    try:
        found = lessons(recipe)
    finally:
        i18n.set_language("en")
    assert [lesson.step for lesson in found] == [step.name for step, _settings in recipe.selected()]
    for lesson in found:
        assert lesson.checks, f"{lesson.step}: nothing to verify it with"
        for text in texts(lesson):
            assert not PLACEHOLDER.search(text), f"{lesson.step} ({lang}): a placeholder is left in {text!r}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_check_that_needs_root_carries_sudo_and_one_as_another_user_says_whom(example: str) -> None:
    recipe = load(ROOT / "examples" / example)
    for lesson in lessons(recipe):
        for check in lesson.checks:
            if check.local:
                continue
            if check.user:
                assert check.typed.startswith(f"sudo -u {check.user} "), check.typed
            elif ROOT_ONLY.search(check.text):
                assert check.root and check.typed == f"sudo {check.text}", f"{lesson.step}: {check.typed}"
            else:
                assert not check.root and check.typed == check.text, f"{lesson.step}: {check.typed} needs no root"


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_command_is_one_a_shell_reads_as_shown(example: str) -> None:
    recipe = load(ROOT / "examples" / example)
    for lesson in lessons(recipe):
        for line in verify_lines(lesson, Teacher.for_recipe(recipe).login):
            if line.startswith("  $ "):
                parsed = subprocess.run(["sh", "-n", "-c", line[4:]], capture_output=True, text=True)
                assert parsed.returncode == 0, f"{lesson.step}: {line!r}: {parsed.stderr}"


def test_the_app_user_and_the_login_user_are_told_apart() -> None:
    """The app is `demo`, its account `web`, the login `ops`: paths say demo, accounts web, sudo is ops's."""
    data = yaml.safe_load((ROOT / "examples" / "flask-app.yaml").read_text())
    data["steps"]["deploy_user"]["name"] = "web"
    data["target"]["user"] = "ops"
    found = {lesson.step: lesson for lesson in lessons(parse(yaml.safe_dump(data)))}
    database = [c.typed for c in found["database"].checks]
    assert ("sudo -u web sh -c '. /srv/demo/shared/env/database.env && psql \"$DATABASE_URL\" -c \"select "
            "current_user, current_database()\"'") in database
    assert "id web" in [c.typed for c in found["deploy_user"].checks]
    assert "sudo journalctl -u 'demo@*' -n 50 --no-pager" in [c.typed for c in found["app_server"].checks]
    hardening = dict(found["firewall"].troubleshoot)["Permission denied (publickey) after hardening"]
    assert "log in as web with your key (ssh -p 22 web@10.99.1.2)" in hardening
    where = verify_lines(found["python"], Login("10.99.1.2", 22, "ops", "/k"))
    assert where[0] == "On the server (ssh -i /k ops@10.99.1.2), as ops:" and "On your own machine:" in where


def test_root_needs_no_sudo_and_switches_users_with_runuser() -> None:
    recipe = load(ROOT / "examples" / "flask-app.yaml")
    found = {lesson.step: lesson for lesson in lessons(recipe, login_user="root")}
    assert "nginx -t" in [c.typed for c in found["nginx"].checks]
    assert "runuser -u postgres -- psql -l" in [c.typed for c in found["database"].checks]


def test_the_checks_follow_the_settings() -> None:
    """MariaDB gets the mysql client's checks, not psql's; the pip-installed certbot its own path; options off,
    their checks gone."""
    data = yaml.safe_load((ROOT / "examples" / "flask-app.yaml").read_text())
    data["steps"]["database"]["engine"] = "mariadb"
    data["steps"]["tls"]["installer"] = "pip"
    data["steps"]["firewall"] |= {"ssh_hardening": True, "fail2ban": True}
    data["steps"]["monitoring"] |= {"node_exporter": False, "health_check": False}
    found = {lesson.step: [c.typed for c in lesson.checks] for lesson in lessons(parse(yaml.safe_dump(data)))}
    assert "sudo mysql -e \"SHOW GRANTS FOR 'demo'@'localhost'\"" in found["database"]
    assert not any("psql" in line or "pg_lsclusters" in line for line in found["database"])
    assert "sudo /opt/certbot/bin/certbot certificates" in found["tls"]
    assert "sudo fail2ban-client status sshd" in found["firewall"]
    assert any(line.startswith("sudo sshd -T") for line in found["firewall"])
    assert found["monitoring"] == ["sudo journalctl --disk-usage"]


def test_translations_keep_every_placeholder() -> None:
    """A placeholder translated away would never be filled in: each teaching text's zh_CN entry has the same."""
    for step in registry.steps():
        ids = [step.teaching.why, *(t for pair in step.teaching.troubleshoot for t in pair),
               *(c.note for c in step.teaching.checks() if c.note)]
        for msgid in ids:
            i18n.set_language("zh_CN")
            try:
                text = step.tr(msgid)
            finally:
                i18n.set_language("en")
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), (step.name, msgid)


def test_fill_replaces_placeholders_standing_alone_only() -> None:
    values = {"APP": "demo", "USER": "web", "DOMAIN": "demo.example.test"}
    assert fill("/srv/APP/venv APP.service APP-health ~USER/.ssh", values) == \
        "/srv/demo/venv demo.service demo-health ~web/.ssh"
    assert fill("$USER ALLOWED_HOSTS APPLE https://DOMAIN/ 以 USER 身份", values) == \
        "$USER ALLOWED_HOSTS APPLE https://demo.example.test/ 以 web 身份"
    assert fill("USER", {"USER": "APP", "APP": "x"}) == "APP"  # one pass: a value is never filled in again


def test_typed_says_who_runs_it() -> None:
    admin, root = Login("h", user="admin"), Login("h", user="root")
    assert typed("ufw status", root=True, user=None, login=admin) == "sudo ufw status"
    assert typed("ufw status", root=True, user=None, login=root) == "ufw status"
    assert typed("id", root=False, user="admin", login=admin) == "id"
    assert typed("ls /x", root=False, user="www-data", login=root) == "runuser -u www-data -- ls /x"


def test_an_abridged_display_is_a_comment_in_chinese_too() -> None:
    """A placeholder stands for something the plan does not spell out: pasted, `<上一个版本>` would be a redirect."""
    for placeholder in ("<the release before>", "<the app's sandbox>", "<上一个版本>", "<应用的沙盒>"):
        line = as_typed(cmd("systemctl", "stop", "x", display=f"systemctl stop {placeholder}"))
        assert line == f"# systemctl stop {placeholder}"
    assert as_typed(cmd("systemctl", "stop", "x", display="systemctl stop x")) == "sudo systemctl stop x"


def test_a_half_typed_draft_fills_in_what_it_knows() -> None:
    draft = Draft(name="shop", enabled={"deploy_user", "nginx", "database", "static"})
    draft.steps = {"deploy_user": {"name": "web"}, "nginx": {"server_names": ["shop.example.com"]},
                   "database": {"engine": "mariadb"}}  # no password yet: not a valid recipe
    teacher = Teacher.for_draft(draft)
    assert teacher.values["DOMAIN"] == "shop.example.com" and teacher.values["USER"] == "web"
    database = teacher.lesson(registry.step("database"))
    assert "sudo mysql -e 'SHOW DATABASES'" in [c.typed for c in database.checks]
    tls = teacher.lesson(registry.step("tls"))  # a step not included yet: its defaults
    assert "sudo certbot certificates" in [c.typed for c in tls.checks]


def test_a_plain_string_is_a_check_any_user_runs_on_the_server() -> None:
    [check] = registry.step("nginx").teaching.checks()[:1]
    assert check == Check("nginx -t", root=True)
    motd_like = Check("cat /etc/motd")
    assert not motd_like.root and not motd_like.local and motd_like.applies(object())
