"""The end of a `deploy-wizard` process (wizard/cli/__init__.py, main): the heap is frozen for the interpreter's
exit only when main runs the process's own command line, never for a caller that goes on."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from wizard.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_a_call_with_its_own_arguments_leaves_the_heap_alone(capsys) -> None:
    before = gc.get_freeze_count()
    assert main(["--version"]) == 0
    assert "deploy-wizard" in capsys.readouterr().out
    assert gc.get_freeze_count() == before


def test_the_process_command_line_freezes_the_heap_before_exit() -> None:
    script = ("import gc, sys; sys.argv = ['deploy-wizard', '--version']; from wizard.cli import main; "
              "code = main(); print(code, gc.get_freeze_count() > 0)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.splitlines()[-1] == "0 True"
