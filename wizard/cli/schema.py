"""`deploy-wizard schema`: the JSON Schema of recipe files, for editors and CI validation.

Why a command: the schema is built from the installed steps' settings, so it is printed from this install
rather than shipped as a file that could disagree with it.
"""

from __future__ import annotations

import argparse
import json

from wizard.engine.errors import ExitCode


def handle(args: argparse.Namespace) -> int:
    """Print the schema as indented JSON (non-ASCII kept, for the Chinese field descriptions)."""
    from wizard.app.recipefile import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return ExitCode.OK


__all__ = ["handle"]
