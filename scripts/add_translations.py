#!/usr/bin/env python3
"""Merge translations into wizard/locale/zh_CN.json: reads a JSON object {english: chinese} on stdin.

Also `--missing` lists the message ids that still have no entry (the same set tests/test_i18n.py checks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "wizard" / "engine" / "locale" / "zh_CN.json"


def main() -> int:
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    if "--missing" in sys.argv:
        sys.path.insert(0, str(ROOT))
        from tests.test_i18n import message_ids

        for msgid in sorted(message_ids() - set(catalog)):
            print(json.dumps(msgid, ensure_ascii=False))
        return 0
    catalog.update(json.load(sys.stdin))
    CATALOG.write_text(json.dumps(dict(sorted(catalog.items())), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
