"""The Ansible export: a playbook (ansible-core only, no collections) replaying a recorded first apply.

Why shell tasks with guards, not one module per change: the recording holds the exact commands deploy-wizard
ran, and its guards say when each is in place; a task runs its command only when the guard fails and
reports "changed" only then, so `ansible-playbook` after `deploy-wizard apply` reports no changes. Files use
ansible.builtin.copy (compared by Ansible itself). Scripts are tagged !unsafe so Jinja never reads `${#x}` or
`{{` in them; secrets come from the controller's environment through lookup('env'), with no_log.
"""

from __future__ import annotations

import json

from wizard.app.exports.common import ExportError, SecretVar, as_root, secret_vars, yaml_scalar
from wizard.app.recording import Recording
from wizard.engine.commands import Command, Secret
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
        raise ExportError(f"the Ansible export cannot pass secrets as command words: {command.masked()}")
    return as_root(command, lambda secret: "***")  # no secret words: stdin carries them, as a module argument


class _Play:
    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.variables = secret_vars(recording)
        self.out: list[str] = []
        self.parents: set[str] = set()

    def task(self, name: str, body: list[str]) -> None:
        self.out.append(f"    - name: {json.dumps(name, ensure_ascii=False)}")
        self.out += [f"      {line}" for line in body]

    def step(self, number: int, total: int, title: str, changes: list[Change]) -> None:
        registered: list[str] = []
        for index, change in enumerate(changes, start=1):
            reg = f"dw_{number}_{index}"
            name = f"[{number}/{total} {title}] {change.why}"
            when = []
            if change.after_change:
                when = [f"when: {json.dumps(' or '.join(f'{r} is changed' for r in registered) or 'false')}"]
            self.change(name, change, reg, when)
            registered.append(reg)

    def change(self, name: str, change: Change, reg: str, when: list[str]) -> None:
        guard = change.skip_if if not change.after_change else None
        if isinstance(change, PutFile):
            self.put(name, change, reg)
        elif isinstance(change, RunCommand):
            if change.ok_codes != (0,):
                raise ExportError(f"'{change.why}' accepts exit codes {change.ok_codes}; the export cannot")
            script = f"if {{ {_sh(guard)}; }} >/dev/null 2>&1; then echo {UNCHANGED}; exit 0; fi\n" if guard else ""
            script += _sh(change.command) + "\n"
            body = [f"ansible.builtin.shell: {yaml_scalar(script, 8)}"]
            if isinstance(change.command.stdin, Secret | str):
                body += ["args:", f"  stdin: {json.dumps(_jinja(change.command.stdin, self.variables))}",
                         "  stdin_add_newline: false"]
                if isinstance(change.command.stdin, Secret):
                    body.append("no_log: true")
            body += [f"register: {reg}", f"changed_when: \"'{UNCHANGED}' not in {reg}.stdout\"", *when]
            self.task(name, body)
        elif isinstance(change, WaitForOperator | ProveLogin):
            self.pause_or_prove(name, change, reg, guard, when)
        else:
            raise ExportError(f"the Ansible export does not know {type(change).__name__}")

    def pause_or_prove(self, name: str, change: Change, reg: str, guard: Command | None, when: list[str]) -> None:
        if guard is not None:
            self.task(f"{name} (already done?)", [f"ansible.builtin.shell: {yaml_scalar(_sh(guard), 8)}",
                                                  f"register: {reg}_done", "failed_when: false",
                                                  "changed_when: false", *when])
            when = [f"when: {reg}_done.rc != 0"]
        if isinstance(change, WaitForOperator):
            self.task(name, ["ansible.builtin.pause:", f"  prompt: {json.dumps(change.message)}",
                             f"register: {reg}", *when])
            return
        self.task(f"{name}: drop the connection", ["ansible.builtin.meta: reset_connection"])
        if change.user:  # a new login as that user, with its own key, without sudo
            self.task(name, ["ansible.builtin.command: /bin/true", f"remote_user: {json.dumps(change.user)}",
                             "become: false", "changed_when: false", f"register: {reg}", *when])
        else:
            self.task(name, ["ansible.builtin.wait_for_connection:", "  timeout: 30", f"register: {reg}", *when])

    def put(self, name: str, change: PutFile, reg: str) -> None:
        when: list[str] = []
        if change.skip_if is not None:  # an intermediate version a later step replaces (see recording.py)
            self.task(f"{name} (replaced later: final version there?)", [
                f"ansible.builtin.shell: {yaml_scalar(_sh(change.skip_if), 8)}", f"register: {reg}_final",
                "failed_when: false", "changed_when: false"])
            when = [f"when: {reg}_final.rc != 0"]
        parent = change.path.rsplit("/", 1)[0] or "/"
        if parent not in self.parents:  # copy does not make directories; the wizard's install does (mkdir -p)
            self.parents.add(parent)
            self.task(f"{name} (its directory)", ["ansible.builtin.file:", f"  path: {json.dumps(parent)}",
                                                  "  state: directory", *when])
        # the content's key sits at 8 columns in a plain task, 12 inside the block that adds the check
        depth = 10 if change.check is None else 14
        if change.source is not None:
            content = json.dumps(_jinja(change.source, self.variables), ensure_ascii=False)
        else:
            content = yaml_scalar(change.content.decode("utf-8"), depth)
        copy = ["ansible.builtin.copy:", f"  dest: {json.dumps(change.path)}", f"  content: {content}",
                f"  mode: \"{change.mode}\"", f"  owner: {json.dumps(change.owner)}",
                f"  group: {json.dumps(change.group)}", "  backup: true", f"register: {reg}", *when]
        if change.source is not None:
            copy.append("no_log: true")
        if change.check is None:
            self.task(name, copy)
            return
        path = json.dumps(change.path)
        self.task(name, ["block:", f"  - name: {json.dumps('write ' + change.path)}",
                         *(f"    {line}" for line in copy),
                         f"  - name: {json.dumps('check: ' + change.check.summary())}",
                         f"    ansible.builtin.shell: {yaml_scalar(_sh(change.check), 12)}",
                         f"    when: {reg} is changed", "    changed_when: false",
                         "rescue:",
                         "  - name: put the previous file back",
                         "    ansible.builtin.copy:", f"      src: \"{{{{ {reg}.backup_file }}}}\"",
                         f"      dest: {path}", "      remote_src: true",
                         f"    when: {reg}.backup_file is defined",
                         "  - name: remove the new file (there was none before)",
                         f"    ansible.builtin.file: {{path: {path}, state: absent}}",
                         f"    when: {reg}.backup_file is not defined",
                         "  - name: stop here", "    ansible.builtin.fail:",
                         f"      msg: {json.dumps(change.path + ' failed its check; the previous file is back')}"])


def playbook(recording: Recording, source: str) -> str:
    recipe = recording.recipe
    play = _Play(recording)
    head = [f"# {recipe.name}: made by `deploy-wizard export {source} --format ansible` (ansible-core only).",
            f"# Recorded from a real first apply on a fresh server ({recording.host}). Each task runs its command",
            "# only when its guard says the change is not in place yet, so a run after `deploy-wizard apply` (or a",
            "# second run) reports no changes. Releases are pinned to the commits recorded; re-export for new ones.",
            "# Run: ansible-playbook -i HOST, -u USER --private-key KEY playbook.yml"]
    if play.variables:
        head.append("# Secrets are read on the controller from the environment (never stored here):")
        head += [f"#   {v.variable}  ({v.label}, recipe: {v.ref})" for v in play.variables.values()]
    head += [f"- name: {json.dumps('deploy-wizard recipe ' + recipe.name)}", "  hosts: all", "  become: true",
             "  gather_facts: false", "  tasks:"]
    total = len(recording.steps)
    for number, step in enumerate(recording.steps, start=1):
        play.step(number, total, step.title, step.changes)
    return "\n".join(head + play.out) + "\n"

