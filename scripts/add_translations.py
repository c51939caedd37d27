#!/usr/bin/env python3
"""Merge translations into a zh_CN catalog: reads a JSON object {english: chinese} on stdin.

`--into FOLDER` picks the catalog beside a step (e.g. `--into recipes/nginx`); the default is the engine's
(wizard/engine/locale). `--missing` lists, per catalog, the message ids that still have no entry (the same
sets tests/test_i18n.py checks); `--prune` removes the entries no message id uses any more.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", default="wizard/engine", help="folder whose locale/zh_CN.json to update")
    parser.add_argument("--missing", action="store_true", help="list message ids without an entry, per catalog")
    parser.add_argument("--prune", action="store_true", help="remove entries no message id uses, in every catalog")
    args = parser.parse_args()
    if args.missing or args.prune:
        sys.path.insert(0, str(ROOT))
        from tests.test_i18n import CATALOGS, catalog

        for name, locale_dir, ids in CATALOGS:
            used = ids()
            if args.missing:
                for msgid in sorted(used - set(catalog(locale_dir))):
                    print(name, json.dumps(msgid, ensure_ascii=False))
            stale = set(catalog(locale_dir)) - used
            if args.prune and stale:
                path = locale_dir / "zh_CN.json"
                entries = json.loads(path.read_text(encoding="utf-8"))
                path.write_text(json.dumps({k: v for k, v in entries.items() if k not in stale}, ensure_ascii=False,
                                           indent=1) + "\n", encoding="utf-8")
                print(name, f"pruned {len(stale)}")
        return 0
    path = ROOT / args.into / "locale" / "zh_CN.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entries.update(json.load(sys.stdin))
    path.write_text(json.dumps(dict(sorted(entries.items())), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
