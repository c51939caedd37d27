"""The course: the recipe's steps in the tutorial's order, each with its goal, its section and graded hints.

Why every word comes from the step: the goal, the tutorial's section and the ideas are the step's own teaching
(Teaching.goal, .section, .why), the hints are its verify commands, the *why* of what its plan still wants and
finally the exact commands of that plan. Nothing here can say something the step does not do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from wizard.app.learn.grade import Grade
from wizard.app.recipefile import Recipe
from wizard.app.teach import Teacher, fill, verify_lines
from wizard.engine.i18n import _
from wizard.engine.step import Step, StepSettings

HINT_LEVELS = 3

# The tutorial's whole stack, as examples/flask-app.yaml has it, for the practice sandbox and its lab (the
# example app over git, a test CA). Values are filled in by course_recipe() from the sandbox it booted.
COURSE = """\
# The course recipe of `deploy-wizard learn` (the tutorial's Flask app with PostgreSQL behind nginx and HTTPS).
version: 1
name: demo
target:
  host: {host}
  user: {user}
  key: {key}
steps:
  os_updates:
    upgrade: upgrade
    timezone: Asia/Shanghai
    hostname: demo.example.test
  deploy_user:
    name: demo
  python:
    version: system
  code:
    repo: {git}/demo.git
    ref: main
    keep_releases: 3
  database:
    engine: postgresql
    password: file:{password}
    migrate: command
    migrate_command: python migrate.py
  static:
    collect: none
    source_dir: static
  app_server:
    module: app:app
    workers: 2
    health_path: /health
    env: {{GREETING: Hello from deploy-wizard}}
  nginx:
    server_names: [demo.example.test]
  tls:
    email: ops@example.test
    acme_server: {acme}
  firewall:
    revert_after: 60
  monitoring:
    journald_max_use: 200M
"""


def course_recipe(*, host: str, key: str, git: str, acme: str, password: Path,
                  user: str = "admin") -> str:
    """The course recipe's text for a practice server (written by the caller, read back through the recipe
    loader like any recipe file, so every value is validated there)."""
    return COURSE.format(host=host, user=user, key=key, git=git, acme=acme, password=password)


def write_course(learner: str, *, host: str, key: str, git: str, acme: str) -> tuple[Path, Path]:
    """The learner's course recipe for a practice server and its database password (made once, kept across
    sandboxes), both 0600 in the learner's folder of the state directory: (recipe, password file)."""
    from wizard.app.learn.progress import learn_dir, learner_name
    from wizard.app.recipefile import load
    from wizard.engine.fsutil import atomic_write_text, private_dir

    folder = private_dir(learn_dir() / learner_name(learner))
    password = folder / "database-password"
    if not password.exists():
        atomic_write_text(password, secrets.token_urlsafe(18), 0o600)
    recipe = folder / "course.yaml"
    atomic_write_text(recipe, course_recipe(host=host, key=key, git=git, acme=acme, password=password), 0o600)
    load(recipe)  # through the loader like any recipe: a value it refuses is said here, with its line
    return recipe, password


@dataclass(frozen=True)
class StepView:
    """What the learner reads before starting a step."""

    name: str
    title: str
    number: int  # 1-based, in the course
    total: int
    goal: str
    section: str
    ideas: str


class Course:
    """One recipe as a course: its steps in order, their texts with the recipe's names."""

    def __init__(self, recipe: Recipe, login_user: str | None = None) -> None:
        self.recipe = recipe
        self.selected: list[tuple[Step, StepSettings]] = sorted(recipe.selected(), key=lambda pair: pair[0].order)
        self.teacher = Teacher.for_recipe(recipe, login_user)

    @property
    def names(self) -> list[str]:
        return [step.name for step, _settings in self.selected]

    def pair(self, name: str) -> tuple[Step, StepSettings]:
        return next(pair for pair in self.selected if pair[0].name == name)

    def after(self, name: str) -> str | None:
        names = self.names
        index = names.index(name)
        return names[index + 1] if index + 1 < len(names) else None

    def view(self, name: str) -> StepView:
        step, _settings = self.pair(name)
        lesson = step.lesson()
        values = self.teacher.values
        return StepView(name, step.label(), self.names.index(name) + 1, len(self.names),
                        fill(lesson.goal, values) or step.label(), lesson.section or _("(no section of the tutorial)"),
                        fill(lesson.why, values))

    def hint(self, name: str, level: int, grade: Grade | None) -> list[str]:
        """Hint `level` (1 = vague .. HINT_LEVELS = the exact commands): 1 how to look at the state yourself (the
        verify commands), 2 what is still missing (the why of each change the plan wants), 3 the commands."""
        step, _settings = self.pair(name)
        if level <= 1:
            return [_("Look before you change anything; these show what is there now:"),
                    *verify_lines(self.teacher.lesson(step), self.teacher.login)]
        if grade is None or grade.passed:
            return [_("Nothing is missing in this step: run \"check\" to have it graded.")]
        if level == 2:
            return [_("What is still missing (the commands are the next hint):"),
                    *(f"- {item.why}" for item in grade.missing),
                    *(f"- {finding.what}: {finding.reason}" for finding in grade.findings if not finding.holds),
                    *(f"- {reason}" for reason in ([grade.error] if grade.error else []))]
        lines = [_("The exact commands the tool would run (type them in your shell on the server):")]
        for item in grade.missing:
            lines.append(f"# {item.why}")
            lines += item.commands
            if item.diff:
                lines.append(item.diff.rstrip("\n"))
        return lines


__all__ = ["COURSE", "HINT_LEVELS", "Course", "StepView", "course_recipe", "write_course"]
