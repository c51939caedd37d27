"""The actions of `deploy-wizard learn` on a saved course: show, check, hint, do, next, goto, drill, summary, stop.

Why each saves at once: a learner closes the terminal whenever they like; what they did so far (a step passed,
a hint seen, a drill fixed) must be in the progress file before the next line is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from wizard.app.learn import progress as store
from wizard.app.learn.course import HINT_LEVELS, Course
from wizard.app.learn.drills import drill as find_drill
from wizard.app.learn.drills import offered
from wizard.app.learn.grade import Grade
from wizard.app.learn.progress import Progress, StepState
from wizard.app.learn.texts import compare_text, drills_text, grade_json, grade_text, step_text
from wizard.app.recipefile import Recipe, load
from wizard.app.session import Questions
from wizard.app.teach import fill
from wizard.cli.common import err, questions
from wizard.cli.confirm import confirm
from wizard.engine.errors import ExitCode, UsageError
from wizard.engine.i18n import _
from wizard.engine.sinks import ConsoleSink


def _course(progress: Progress, args: argparse.Namespace | None = None) -> tuple[Recipe, Course, Questions]:
    recipe = load(progress.recipe)
    if args is not None:
        args.file = progress.recipe
    course = Course(recipe)
    return recipe, course, questions(args or argparse.Namespace(json=True, accept_new_host_key=False,
                                                                file=progress.recipe), recipe)


def _ssh(progress: Progress, course: Course) -> str:
    if progress.sandbox:
        return f"deploy-wizard sandbox ssh {progress.sandbox} --user admin"
    return course.teacher.login.ssh()


def current(progress: Progress, course: Course) -> str:
    if progress.current not in course.names:
        progress.current = course.names[0]
    return progress.current


def show(progress: Progress) -> int:
    _recipe, course, _q = _course(progress)
    name = current(progress, course)
    record = progress.step(name)
    store.save(progress)
    if record.state is not StepState.OPEN and course.after(name) is None:
        print(_("Every step of the course is done. Try the drills (`deploy-wizard learn drill`) and write the "
                "summary (`deploy-wizard learn summary -o summary.md`)."))
        return ExitCode.OK
    print(step_text(course.view(name), _ssh(progress, course)))
    if progress.drill:
        print(_("A drill is running: {name}. `learn check` grades your fix.").format(name=progress.drill))
    return ExitCode.OK


def check(args: argparse.Namespace, progress: Progress) -> int:
    recipe, course, asking = _course(progress, args)
    from wizard.app.learn.session import grade

    if progress.drill:
        return _check_drill(args, progress, recipe, course, asking)
    name = current(progress, course)
    result: Grade = asyncio.run(grade(recipe, asking, name, _host(progress, recipe)))
    progress.checked(name, result.passed, course.after(name))
    store.save(progress)
    _print_grade(args, result, course.view(name).title)
    if result.passed and progress.current != name:
        print()
        show(progress)
    return ExitCode.OK if result.passed else ExitCode.FAILED


def _print_grade(args: argparse.Namespace, result: Grade, title: str) -> None:
    if args.json:
        print(json.dumps(grade_json(result), ensure_ascii=False, indent=2))
    else:
        print(grade_text(result, title))


def _host(progress: Progress, recipe: Recipe) -> str | None:
    return None if progress.host == recipe.target.host else progress.host


def _check_drill(args: argparse.Namespace, progress: Progress, recipe: Recipe, course: Course,
                 asking: Questions) -> int:
    from wizard.app.learn.session import grade

    drill = find_drill(progress.drill)
    assert drill is not None
    result = asyncio.run(grade(recipe, asking, drill.step, _host(progress, recipe)))
    progress.drill_checked(result.passed)
    store.save(progress)
    _print_grade(args, result, drill.title)
    if result.passed:
        print(_("Drill fixed: {title}.").format(title=drill.title))
    return ExitCode.OK if result.passed else ExitCode.FAILED


def hint(args: argparse.Namespace, progress: Progress) -> int:
    recipe, course, asking = _course(progress, args)
    name = current(progress, course)
    level = min(progress.step(name).hints + 1, HINT_LEVELS)
    result = None
    if level > 1:
        from wizard.app.learn.session import grade

        result = asyncio.run(grade(recipe, asking, name, _host(progress, recipe)))
    progress.hinted(name, level)
    store.save(progress)
    print(_("Hint {level} of {n}:").format(level=level, n=HINT_LEVELS))
    print("\n".join(course.hint(name, level, result)))
    return ExitCode.OK


def do(args: argparse.Namespace, progress: Progress) -> int:
    if progress.drill:  # a drill is fixed by hand: the tool fixing it would teach nothing
        raise UsageError(_("Fix the drill {name} first (`learn check` grades it)").format(name=progress.drill))
    recipe, course, asking = _course(progress, args)
    name = current(progress, course)
    from wizard.app.learn.session import do_rest

    if not confirm(_("Let the tool do the rest of {title} on {host}? [y/N] ").format(
            title=course.view(name).title, host=progress.host), yes=args.yes,
            refusal=_("`learn do` changes the server: pass --yes to go on without a terminal")):
        return ExitCode.FAILED
    before, changes = asyncio.run(do_rest(recipe, asking, name, ConsoleSink(), _host(progress, recipe)))
    progress.finished_by_tool(name, course.after(name))
    store.save(progress)
    print(compare_text(before, changes))
    print()
    return show(progress)


def goto(args: argparse.Namespace, progress: Progress, *, step_ahead: bool) -> int:
    _recipe, course, _q = _course(progress)
    name = current(progress, course)
    target = course.after(name) if step_ahead else args.name
    if step_ahead and target is None:
        print(_("This is the course's last step; `deploy-wizard learn summary` writes the summary."))
        return ExitCode.OK
    if target not in course.names:
        raise UsageError(_("No step {name} in this course: {names}").format(name=target, names=", ".join(course.names)))
    progress.current = target
    progress.step(target)
    store.save(progress)
    return show(progress)


def drill(args: argparse.Namespace, progress: Progress) -> int:
    recipe, course, asking = _course(progress, args)
    drills = offered(course.names)
    if not args.name:
        print(drills_text(drills, progress))
        return ExitCode.OK
    found = next((d for d in drills if d.name == args.name), None)
    if found is None:
        raise UsageError(_("No drill {name}: {names}").format(name=args.name, names=", ".join(d.name for d in drills)))
    if progress.drill and progress.drill != found.name:
        raise UsageError(_("Fix the drill {name} first (`learn check` grades it)").format(name=progress.drill))
    record = progress.steps.get(found.step)
    if record is None or record.state is StepState.OPEN:
        raise UsageError(_("This drill breaks the step {step}: do that step first").format(step=found.step))
    from wizard.app.learn.session import break_drill

    if found.disk is not None:
        _give_disk(progress, found.name, found.disk(recipe.context()))
    asyncio.run(break_drill(recipe, asking, found, _host(progress, recipe)))
    progress.broke(found.name)
    store.save(progress)
    print(_("Something is broken on {host}. A user reports:").format(host=progress.host))
    print("  " + fill(found.symptom, course.teacher.values))
    print(_("Find it and fix it by hand ({ssh}); the step's troubleshooting texts help (`learn hint` does not give "
            "this one away). `deploy-wizard learn check` grades your fix.").format(ssh=_ssh(progress, course)))
    return ExitCode.OK


def _give_disk(progress: Progress, name: str, directory: str) -> None:
    """A drill that fills a disk gets one of its own on the practice sandbox (made here); on a server of the
    learner's own it would fill the real disk, so it is refused there."""
    if not progress.sandbox:
        raise UsageError(_("The drill {name} fills a disk, so it runs only on the practice sandbox, where this "
                           "machine gives the server a small disk of its own; on {host} it would fill the real "
                           "one.").format(name=name, host=progress.host))
    from wizard.lab import disk

    disk.attach(progress.sandbox, directory)


def summary(args: argparse.Namespace, progress: Progress) -> int:
    from wizard.app.learn.drills import all_drills
    from wizard.app.learn.report import markdown
    from wizard.engine.fsutil import atomic_write_text

    _recipe, course, _q = _course(progress)
    text = markdown(progress, {name: course.view(name).title for name in course.names},
                    {d.name: d.title for d in all_drills()})
    if args.output:
        atomic_write_text(args.output, text)
        err(_("Summary written to {path}").format(path=args.output))
    else:
        print(text, end="")
    return ExitCode.OK


def stop(progress: Progress) -> int:
    from wizard.lab import sandbox

    if progress.sandbox and sandbox.is_running(progress.sandbox):
        sandbox.down(progress.sandbox)
    print(_("Progress kept in {path}; `deploy-wizard learn` goes on (on a fresh practice server, with the steps "
            "done so far replayed by the tool).").format(path=store.path_of(progress.learner)))
    return ExitCode.OK


def revive(progress: Progress, args: argparse.Namespace) -> None:
    """A course whose sandbox is gone (stopped, the machine rebooted): boot a fresh one with the lab, point the
    course recipe at it, and let the tool replay the steps done so far, so the learner goes on where they were."""
    if not progress.sandbox:
        return
    from wizard.lab import sandbox

    if sandbox.is_running(progress.sandbox):
        return
    from wizard.cli.learn import boot

    args.sandbox = progress.sandbox
    print(_("The practice server is gone; booting a fresh one and replaying the steps you did."), flush=True)
    progress.host = boot(args, progress.learner).host
    store.save(progress)
    recipe, course, asking = _course(progress, args)
    from wizard.app.learn.session import do_rest

    for name in course.names:
        record = progress.steps.get(name)
        if record is None or record.state is StepState.OPEN:
            break
        asyncio.run(do_rest(recipe, asking, name, ConsoleSink(show_output=False)))


def run(args: argparse.Namespace, progress: Progress) -> int:
    if args.action == "show":
        return show(progress)
    if args.action in ("next", "goto"):
        return goto(args, progress, step_ahead=args.action == "next")
    if args.action == "stop":
        return stop(progress)
    actions = {"check": check, "hint": hint, "do": do, "drill": drill, "summary": summary}
    return actions[args.action](args, progress)


__all__ = ["check", "current", "revive", "run", "show"]
