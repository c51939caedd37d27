"""Exports from a hand-made recording (no server): well-formed files, no secret anywhere, and the rebuilt secret
forms (URL, SQL literals) equal to what deploy-wizard itself computes. The live replay is tests/live/test_exports.py.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
from urllib.parse import quote as urlquote

import jinja2
import pytest
import yaml

from wizard.app.exports.ansible import _jinja, playbook
from wizard.app.exports.cloudinit import user_data
from wizard.app.exports.common import ExportError, secret_vars
from wizard.app.exports.shell import HELPERS, shell_script
from wizard.app.recipefile import parse
from wizard.app.recording import RecordedStep, Recording, guard_overwritten_files
from wizard.engine.commands import Secret, cmd, sh
from wizard.engine.step import ProveLogin, PutFile, RunCommand, WaitForOperator

HOSTILE = ["plain", "it's", "back\\slash", "a/b:c@d%20e f", "naïve ünïcode", "'; rm -rf / #", "$(id) `id` ${HOME}"]
RECIPE = """version: 1
name: demo
target: {host: 10.0.0.5, user: admin}
steps:
  os_updates: {}
"""


def recording(password: str = "s3cret'pass/word") -> Recording:
    base = Secret("database.password", password, ref="env:DEMO_DB_PASSWORD")
    api = Secret("app_server.secret_env.API_KEY", "key-123", ref="file:/run/keys/api")
    sql = Secret.join("sql", 'create role "demo" login password ', base.derive("'SCRAM'", "pg_literal"), ";\n")
    env = Secret.join("env", "DATABASE_URL=postgresql://demo:", base.derive(urlquote(password, safe=""), "url"),
                      "@127.0.0.1/demo\nAPI_KEY='", api.derive("key-123", "env_value"), "'\n")
    changes = [
        RunCommand("install nginx", cmd("apt-get", "install", "nginx"), skip_if=sh('[ -e "$1" ]', "/usr/sbin/nginx")),
        RunCommand("create the role", cmd("runuser", "-u", "postgres", "--", "psql", stdin=sql),
                   skip_if=sh("false")),
        PutFile("write env", "/srv/demo/shared/env/database.env", env.reveal().encode(), mode="0600", owner="demo",
                group="demo", secret=True, source=env),
        PutFile("write site", "/etc/nginx/sites-available/demo", b"server {\n\tlisten 80; # {{ not jinja }}\n}\n",
                check=cmd("nginx", "-t")),
        RunCommand("reload nginx", cmd("systemctl", "reload", "nginx"), after_change=True),
        RunCommand("venv as demo", cmd("python3", "-m", "venv", "/srv/demo/venv", user="demo", env={"HOME": "/srv"}),
                   skip_if=sh('[ -e "$1" ]', "/srv/demo/venv/bin/python")),
        WaitForOperator("deploy key", "Add this key: ssh-ed25519 AAAA", skip_if=sh("true")),
        ProveLogin("prove ssh", after_change=True),
    ]
    return Recording(parse(RECIPE, "r.yaml"), "10.0.0.9", [RecordedStep("database", "Database", changes)])


def test_secrets_become_variables_named_after_their_references() -> None:
    names = {v.ref: v.variable for v in secret_vars(recording()).values()}
    assert names == {"env:DEMO_DB_PASSWORD": "DEMO_DB_PASSWORD",
                     "file:/run/keys/api": "DW_SECRET_APP_SERVER_SECRET_ENV_API_KEY"}


def test_a_secret_without_a_reference_cannot_be_exported() -> None:
    rec = recording()
    rec.steps[0].changes.append(RunCommand("x", cmd("psql", stdin=Secret("loose", "value")), skip_if=sh("true")))
    with pytest.raises(ExportError, match="no recipe reference"):
        secret_vars(rec)


def test_shell_script_is_valid_bash_without_secrets() -> None:
    script = shell_script(recording(), "r.yaml")
    assert "s3cret" not in script and "key-123" not in script and "SCRAM" not in script
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert ': "${DEMO_DB_PASSWORD' not in script and 'set DEMO_DB_PASSWORD' in script
    assert "runuser -u demo -- sh -c" in script  # another user, as the transport does it
    assert 'if [ "$DW_STEP_CHANGES" -gt 0 ]; then' in script  # the reload only follows a change


@pytest.mark.parametrize("value", HOSTILE)
def test_the_script_rebuilds_secret_forms_like_deploy_wizard(value: str) -> None:
    """dw_urlencode / dw_sql_literal / dw_mysql_literal give what Python's quote and the SQL rules give."""
    program = HELPERS + ('\nprintf "%s\\n%s\\n%s" "$(dw_urlencode "$V")" "$(dw_sql_literal "$V")" '
                         '"$(dw_mysql_literal "$V")"')
    out = subprocess.run(["bash", "-c", program], env={"V": value, "PATH": "/usr/bin:/bin"}, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    assert out[0] == urlquote(value, safe="")
    assert out[1] == "'" + value.replace("'", "''") + "'"
    assert out[2] == "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class UnsafeLoader(yaml.SafeLoader):
    pass


UnsafeLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_playbook_is_yaml_with_guarded_tasks_and_no_secrets() -> None:
    text = playbook(recording(), "r.yaml")
    assert "s3cret" not in text and "key-123" not in text
    play = yaml.load(text, Loader=UnsafeLoader)[0]
    assert play["hosts"] == "all" and play["become"] is True
    tasks = play["tasks"]
    shells = [t for t in tasks if "ansible.builtin.shell" in t and not t["name"].endswith("(already done?)")]
    assert shells and all("DW-UNCHANGED" in t["changed_when"] for t in shells)
    role = next(t for t in tasks if t["name"].endswith("create the role"))
    assert role["no_log"] is True and "lookup('env', 'DEMO_DB_PASSWORD')" in role["ansible.builtin.shell"]["stdin"]
    reload = next(t for t in tasks if t["name"].endswith("reload nginx"))
    assert reload["when"] == "dw_1_1 is changed or dw_1_2 is changed or dw_1_3 is changed or dw_1_4 is changed"
    site = next(t for t in tasks if t["name"].endswith("write site"))
    assert site["block"][0]["ansible.builtin.copy"]["content"] == "server {\n\tlisten 80; # {{ not jinja }}\n}\n"
    assert "rescue" in site


@pytest.mark.parametrize("value", HOSTILE)
def test_playbook_templates_rebuild_secret_forms(value: str) -> None:
    """The Jinja the playbook sends through Ansible gives the values deploy-wizard computes (Ansible's urlencode
    is Jinja's: `/` stays, hence the replace)."""
    env = {"DEMO_DB_PASSWORD": value, "DW_SECRET_APP_SERVER_SECRET_ENV_API_KEY": "key-123"}
    rec = recording(value)
    variables = secret_vars(rec)
    jinja = jinja2.Environment()
    jinja.globals["lookup"] = lambda kind, name: env[name]
    for change in rec.changes():
        source = change.source if isinstance(change, PutFile) else getattr(change, "command", None)
        if isinstance(change, PutFile) and source is not None:
            rendered = jinja.from_string(_jinja(source, variables)).render()
            url = f"postgresql://demo:{urlquote(value, safe='')}@127.0.0.1/demo"
            assert rendered == f"DATABASE_URL={url}\nAPI_KEY='key-123'\n"
    sql = rec.changes()[1].command.stdin
    assert jinja.from_string(_jinja(sql, variables)).render() == \
        'create role "demo" login password \'' + value.replace("'", "''") + "';\n"


def test_cloud_init_writes_and_runs_the_script() -> None:
    rec = recording()
    script = shell_script(rec, "r.yaml")
    text = user_data(rec, script)
    assert text.startswith("#cloud-config\n") and "s3cret" not in text
    data = yaml.safe_load(text)
    (entry,) = data["write_files"]
    assert entry["path"] == "/root/deploy-wizard-demo.sh" and entry["permissions"] == "0700"
    assert entry["content"] == script or entry.get("encoding") == "b64"
    assert data["runcmd"][0][:2] == ["bash", "-c"] and "/root/deploy-wizard-demo.env" in data["runcmd"][0][2]


def test_a_file_a_later_step_rewrites_is_only_written_while_its_final_version_is_missing() -> None:
    rec = recording()
    http = PutFile("HTTP site", "/etc/nginx/sites-available/demo", b"http only\n")
    https = PutFile("HTTPS site", "/etc/nginx/sites-available/demo", b"with tls\n")
    rec.steps = guard_overwritten_files([RecordedStep("nginx", "nginx", [http]), RecordedStep("tls", "TLS", [https])])
    first, last = rec.steps[0].changes[0], rec.steps[1].changes[0]
    assert last.skip_if is None and first.skip_if is not None
    assert hashlib.sha256(b"with tls\n").hexdigest() in first.skip_if.shell()
    script = shell_script(rec, "r.yaml")
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    tasks = yaml.load(playbook(rec, "r.yaml"), Loader=UnsafeLoader)[0]["tasks"]
    assert tasks[1]["when"] == tasks[2]["when"] == "dw_1_1_final.rc != 0" and "when" not in tasks[3]


def test_file_contents_survive_the_playbook_yaml_with_and_without_a_check() -> None:
    content = "# a comment\n[Unit]\nDescription=x: y\n\n  indented\n"
    rec = recording()
    rec.steps[0].changes = [PutFile("plain", "/etc/a", content.encode()),
                            PutFile("checked", "/etc/b", content.encode(), check=cmd("true"))]
    tasks = yaml.load(playbook(rec, "r.yaml"), Loader=UnsafeLoader)[0]["tasks"]
    assert tasks[0]["ansible.builtin.file"] == {"path": "/etc", "state": "directory"}  # copy makes no directories
    assert tasks[1]["ansible.builtin.copy"]["content"] == content
    assert tasks[2]["block"][0]["ansible.builtin.copy"]["content"] == content  # /etc is made once


AWKWARD = ["single line\n", "no newline", "", "trailing space \nx\n", "tab\there\n", "crlf\r\nline\r\n",
           "  leading\nspace\n", "\nleading break\n", "many\n\n\n", "ünï 中文 🚀\n{{ x }} {% raw %} ${#y}\n",
           "line\u2028separator\x85next line\n", "bell\x07\n", "- dash\n: colon\n# hash\n", "bare\n "]


class TaggedLoader(yaml.SafeLoader):
    pass


TaggedLoader.add_constructor("!unsafe", lambda loader, node: ("!unsafe", loader.construct_scalar(node)))


@pytest.mark.parametrize("content", AWKWARD)
def test_any_text_survives_the_yaml_exports(content: str) -> None:
    """Whatever a file or a script holds, the YAML gives it back unchanged, and Ansible takes it literally."""
    rec = recording()
    rec.steps[0].changes = [PutFile("plain", "/etc/a", content.encode()),
                            PutFile("checked", "/etc/b", content.encode(), check=cmd("true")),
                            RunCommand("script", sh("echo " + content), skip_if=sh("test -e /x")),
                            WaitForOperator("operator", content, skip_if=sh("true"))]
    tasks = yaml.load(playbook(rec, "r.yaml"), Loader=TaggedLoader)[0]["tasks"]
    assert tasks[1]["ansible.builtin.copy"]["content"] == ("!unsafe", content)
    assert tasks[2]["block"][0]["ansible.builtin.copy"]["content"] == ("!unsafe", content)
    tag, script = tasks[3]["ansible.builtin.shell"]["cmd"]  # never free-form: Ansible splits that on quotes
    assert tag == "!unsafe" and script.endswith(sh("echo " + content).shell() + "\n")
    assert tasks[5]["ansible.builtin.pause"]["prompt"] == content  # shown as Ansible renders it, like before
    script = shell_script(rec, "r.yaml")
    (entry,) = yaml.safe_load(user_data(rec, script))["write_files"]
    assert entry["content"] == script or base64.b64decode(entry["content"]).decode() == script


def test_every_export_says_it_replays_a_first_apply_and_leaves_releases_to_deploy_wizard() -> None:
    rec = recording()
    script = shell_script(rec, "r.yaml")
    for text in (script, playbook(rec, "r.yaml"), user_data(rec, script)):
        header = "\n".join(line for line in text.splitlines()[:40] if line.startswith("#"))
        assert "What it covers: a first apply" in header
        assert "health gate" in header and "switches a failing one back" in header and "rollbacks" in header
