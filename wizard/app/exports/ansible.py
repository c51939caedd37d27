"""The Ansible export: a playbook (ansible-core only, no collections) replaying a recorded first apply.

Why shell tasks with guards, not one module per change: the recording holds the exact commands deploy-wizard
ran, and its guards say when each is in place; a task runs its command only when the guard fails and
reports "changed" only then, so `ansible-playbook` after `deploy-wizard apply` reports no changes. Files use
ansible.builtin.copy (compared by Ansible itself). A script is the shell module's `cmd:`, never its free-form
text, which Ansible splits on quotes and `key=value` words (a psql `:'name'` variable broke it). Scripts are
tagged !unsafe so Jinja never reads `${#x}` or `{{` in them; secrets come from the controller's environment
through lookup('env'), with no_log.
"""

from __future__ import annotations

from typing import Any

from wizard.app.exports.common import COVERS, ExportError, SecretVar, Unsafe, as_root, dump_yaml, secret_vars
from wizard.app.recording import Recording
from wizard.engine.commands import Command, Secret
from wizard.engine.i18n import _
from wizard.engine.step import Change, ProveLogin, PutFile, RunCommand, WaitForOperator

UNCHANGED = "DW-UNCHANGED"
JINJA = {"": "{x}", "env_value": "{x}", "url": "({x} | urlencode | replace('/', '%2F'))",
         "pg_literal": "(\"'\" ~ ({x} | replace(\"'\", \"''\")) ~ \"'\")",
         "mysql_literal": "(\"'\" ~ ({x} | replace('\\\\', '\\\\\\\\') | replace(\"'\", \"\\\\'\")) ~ \"'\")"}


def _jinja(text: str | Secret, variables: dict[str, SecretVar]) -> str:
    """A Jinja template that rebuilds a text assembled from secrets on the controller."""
    if isinstance(text, str):
        return "{% raw %}" + text + "{% endraw %}" if text else ""
    if text.parts is None:
        lookup = f"lookup('env', '{variables[str(text.ref)].variable}')"
        return "{{ " + JINJA[text.form].replace("{x}", lookup) + " }}"
    return "".join(_jinja(part, variables) for part in text.parts)


def _sh(command: Command) -> str:
    """The command as the transport would run it (runuser for another user), secrets excluded."""
    if any(isinstance(bit, Secret) for bit in command.bits):
        raise ExportError(_("the Ansible export cannot pass secrets as command words: {command}").format(
            command=command.masked()))
    return as_root(command, lambda secret: "***")  # no secret words: stdin carries them, as a module argument


Task = dict[str, Any]


class _Play:
    """The play's tasks, built as data (dicts in the order Ansible shows them) for PyYAML to write."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.variables = secret_vars(recording)
        self.tasks: list[Task] = []
        self.parents: set[str] = set()

    def task(self, name: str, body: Task) -> None:
        self.tasks.append({"name": name, **body})

    def step(self, number: int, total: int, title: str, changes: list[Change]) -> None:
        registered: list[str] = []
        for index, change in enumerate(changes, start=1):
            reg = f"dw_{number}_{index}"
            name = f"[{number}/{total} {title}] {change.why}"
            when: Task = {}
            if change.after_change:
                when = {"when": " or ".join(f"{r} is changed" for r in registered) or "false"}
            self.change(name, change, reg, when)
            registered.append(reg)

    def change(self, name: str, change: Change, reg: str, when: Task) -> None:
        guard = change.skip_if if not change.after_change else None
        if isinstance(change, PutFile):
            self.put(name, change, reg)
        elif isinstance(change, RunCommand):
            if change.ok_codes != (0,):
                raise ExportError(_("'{what}' accepts exit codes {codes}; the export cannot").format(
                    what=change.why, codes=change.ok_codes))
            script = f"if {{ {_sh(guard)}; }} >/dev/null 2>&1; then echo {UNCHANGED}; exit 0; fi\n" if guard else ""
            script += _sh(change.command) + "\n"
            shell: Task = {"cmd": Unsafe(script)}
            body: Task = {"ansible.builtin.shell": shell}
            if isinstance(change.command.stdin, Secret | str):
                shell.update({"stdin": _jinja(change.command.stdin, self.variables), "stdin_add_newline": False})
                if isinstance(change.command.stdin, Secret):
                    body["no_log"] = True
            self.task(name, {**body, "register": reg, "changed_when": f"'{UNCHANGED}' not in {reg}.stdout", **when})
        elif isinstance(change, WaitForOperator | ProveLogin):
            self.pause_or_prove(name, change, reg, guard, when)
        else:
            raise ExportError(_("the Ansible export does not know {kind}").format(kind=type(change).__name__))

    def pause_or_prove(self, name: str, change: Change, reg: str, guard: Command | None, when: Task) -> None:
        if guard is not None:
            self.task(f"{name} (already done?)", {"ansible.builtin.shell": {"cmd": Unsafe(_sh(guard))},
                                                  "register": f"{reg}_done", "failed_when": False,
                                                  "changed_when": False, **when})
            when = {"when": f"{reg}_done.rc != 0"}
        if isinstance(change, WaitForOperator):
            self.task(name, {"ansible.builtin.pause": {"prompt": change.message}, "register": reg, **when})
            return
        self.task(f"{name}: drop the connection", {"ansible.builtin.meta": "reset_connection"})
        if change.user:  # a new login as that user, with its own key, without sudo
            self.task(name, {"ansible.builtin.command": "/bin/true", "remote_user": change.user, "become": False,
                             "changed_when": False, "register": reg, **when})
        else:
            self.task(name, {"ansible.builtin.wait_for_connection": {"timeout": 30}, "register": reg, **when})

    def put(self, name: str, change: PutFile, reg: str) -> None:
        when: Task = {}
        if change.skip_if is not None:  # an intermediate version a later step replaces (see recording.py)
            self.task(f"{name} (replaced later: final version there?)", {
                "ansible.builtin.shell": {"cmd": Unsafe(_sh(change.skip_if))}, "register": f"{reg}_final",
                "failed_when": False, "changed_when": False})
            when = {"when": f"{reg}_final.rc != 0"}
        parent = change.path.rsplit("/", 1)[0] or "/"
        if parent not in self.parents:  # copy does not make directories; the wizard's install does (mkdir -p)
            self.parents.add(parent)
            self.task(f"{name} (its directory)", {"ansible.builtin.file": {"path": parent, "state": "directory"},
                                                  **when})
        content = (_jinja(change.source, self.variables) if change.source is not None
                   else Unsafe(change.content.decode("utf-8")))
        copy: Task = {"ansible.builtin.copy": {"dest": change.path, "content": content, "mode": str(change.mode),
                                               "owner": change.owner, "group": change.group, "backup": True},
                      "register": reg, **when}
        if change.source is not None:
            copy["no_log"] = True
        if change.check is None:
            self.task(name, copy)
            return
        self.task(name, _checked(change, reg, copy))


def _checked(change: PutFile, reg: str, copy: Task) -> Task:
    """A file write followed by its check; when the check fails, the previous file is put back (or the new one
    removed) and the play stops there."""
    assert change.check is not None
    failed = change.path + " failed its check; the previous file is back"
    return {"block": [{"name": "write " + change.path, **copy},
                      {"name": "check: " + change.check.summary(),
                       "ansible.builtin.shell": {"cmd": Unsafe(_sh(change.check))},
                       "when": f"{reg} is changed", "changed_when": False}],
            "rescue": [{"name": "put the previous file back",
                        "ansible.builtin.copy": {"src": f"{{{{ {reg}.backup_file }}}}", "dest": change.path,
                                                 "remote_src": True},
                        "when": f"{reg}.backup_file is defined"},
                       {"name": "remove the new file (there was none before)",
                        "ansible.builtin.file": {"path": change.path, "state": "absent"},
                        "when": f"{reg}.backup_file is not defined"},
                       {"name": "stop here", "ansible.builtin.fail": {"msg": failed}}]}


def playbook(recording: Recording, source: str) -> str:
    recipe = recording.recipe
    play = _Play(recording)
    head = [f"# {recipe.name}: made by `deploy-wizard export {source} --format ansible` (ansible-core only).",
            f"# Recorded from a real first apply on a fresh server ({recording.host}). Each task runs its command",
            "# only when its guard says the change is not in place yet, so a run after `deploy-wizard apply` (or a",
            "# second run) reports no changes. Releases are pinned to the commits recorded; re-export for new ones.",
            "# Run: ansible-playbook -i HOST, -u USER --private-key KEY playbook.yml", *COVERS]
    if play.variables:
        head.append("# Secrets are read on the controller from the environment (never stored here):")
        head += [f"#   {v.variable}  ({v.label}, recipe: {v.ref})" for v in play.variables.values()]
    total = len(recording.steps)
    for number, step in enumerate(recording.steps, start=1):
        play.step(number, total, step.title, step.changes)
    document = [{"name": "deploy-wizard recipe " + recipe.name, "hosts": "all", "become": True,
                 "gather_facts": False, "tasks": play.tasks}]
    return "\n".join(head) + "\n" + dump_yaml(document)
