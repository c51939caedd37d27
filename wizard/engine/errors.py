"""One base class for every failure the operator is expected to meet, and the exit codes they map to.

Why one base: the CLI, the wizard and the fleet runner each need to tell "an expected failure with a message
for people" from "a bug". With one base class they catch it once, show `str(error)` (already translated
where it was raised, with `_()`) and take the exit code from the error itself, instead of listing a dozen
unrelated exception classes by hand in every front end. Only the CLI turns an error into an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of `deploy-wizard`, a public interface: scripts and CI branch on them."""

    OK = 0
    FAILED = 1  # the run failed, or the server refused us
    BAD_INPUT = 2  # a bad recipe file, flag, secret or step package
    DRIFT = 3  # `check` found the server different from the recipe
    BUSY = 4  # another apply or rollback of the app holds its deploy lock on the server


class DeployWizardError(Exception):
    """An expected failure: its message is for the operator, its exit code for scripts.

    Subclasses set `exit_code` (and `bare`) once for the whole class; a raise site that knows better (the same
    error can be bad input in one case and a failed run in another) passes `exit_code=`.
    """

    exit_code: ExitCode = ExitCode.FAILED
    # True when the message already says where the problem is ("recipe.yaml:5: target.port: ...", "--host: ...")
    # and the CLI prints it as it is; False: the CLI heads it with "Error: ".
    bare: bool = False

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(DeployWizardError):
    """A command that cannot run as given: a bad flag, or a question with no terminal to ask it on."""

    exit_code = ExitCode.BAD_INPUT
    bare = True


__all__ = ["DeployWizardError", "ExitCode", "UsageError"]
