"""A benchmark's results file: what ran (versions, commit), on what (load average, CPUs), when, every sample,
and the summary; written as JSON and Markdown under bench/results/ (bench/compare_full.py uses it)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def start(name: str, rounds: int, tools: list[str], versions: dict[str, str]) -> dict:
    from wizard.lab import sandbox

    return {
        "benchmark": name, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"), "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "rounds_asked": rounds, "tools": tools,
        "versions": {"python": platform.python_version(), "kernel": platform.release(),
                     "sandbox": sandbox.DEFAULT_RELEASE, **versions},
        "cpus": os.cpu_count(), "load_before": _load(), "argv": sys.argv, "rounds": [],
    }


def finish(record: dict, out_dir: Path) -> bool:
    """Write the files; True when a no-op reported changes (that figure failed)."""
    record["load_after"] = _load()
    failed = [f"round {r['round']}: {tool} {phase} " + (f"failed: {s['error'][-300:]}" if "error" in s else
                                                         f"reported {s['changes']} changes")
              for r in record["rounds"] for phase in ("first", "noop") for tool, s in r[phase].items()
              if "error" in s or (phase == "noop" and s["changes"] != 0)]
    record["failed"] = failed
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{record['benchmark']}-{record['date'][:19].replace(':', '').replace('-', '')}"
    Path(f"{stem}.json").write_text(json.dumps(record, indent=1) + "\n")
    Path(f"{stem}.md").write_text(markdown(record) + "\n")
    print(f"results: {stem}.json and .md")
    return bool(failed)


def _fmt(stat: dict | None, unit: str) -> str:
    if not stat:
        return "failed" if stat is None else "-"
    digits = 2 if unit == "x" or stat["median"] < 10 else 1
    fmt = f"{{:.{digits}f}}"
    return (f"{fmt.format(stat['median'])} ({fmt.format(stat['min'])}–{fmt.format(stat['max'])}) {unit}"
            f" n={stat['n']}")


def table(record: dict, tools: list[str], base: str) -> str:
    summary = record.get("summary", {})
    rows = ["| tool | first apply | ratio to " + base + " | no-op | ratio to " + base + " |",
            "| --- | --- | --- | --- | --- |"]
    for tool in tools:
        cells = [tool]
        for phase in ("first", "noop"):
            if phase == "noop" and tool == "floor":
                cells += ["-", "-"]
                continue
            cells.append(_fmt(summary.get(f"{phase}/{tool}/seconds"), "s"))
            cells.append("1" if tool == base else _fmt(summary.get(f"{phase}/{tool}/ratio"), "x"))
        rows.append("| " + " | ".join(cells) + " |")
    floor = summary.get("first/floor/ratio")
    if floor:
        inverse = {k: (1 / v if k in ("min", "median", "max") else v) for k, v in floor.items()}
        inverse["min"], inverse["max"] = inverse["max"], inverse["min"]
        rows.append(f"\n{base}'s first apply / the package floor: {_fmt(inverse, 'x')} (goal: at most 1.15)")
    rows.append("\nmedian (min–max) over the rounds; a ratio is taken inside one round, then summarised")
    return "\n".join(rows)


def _end_states(record: dict) -> list[str]:
    lines = []
    for r in record["rounds"]:
        for tool, state in r["end_state"].items():
            lines.append(f"- round {r['round']}, {tool}: check {'ok' if state['check_ok'] else 'DRIFT'}, page "
                         f"{'ok' if state['page_ok'] else 'WRONG: ' + state['page']}, visits {state['visits']}")
            lines += [f"  - would change: {d}" for d in state["drift"]]
    return lines


def markdown(record: dict) -> str:
    tools, base = record["tools"], "deploy-wizard"
    versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
    head = [f"# {record['benchmark']}, {record['date']}", "",
            f"- commit {record['commit']}{' (with uncommitted changes)' if record['dirty'] else ''}",
            f"- versions: {versions}",
            f"- {record['cpus']} CPUs; load average before {record['load_before']}, after {record.get('load_after')}",
            f"- rounds: {len(record['rounds'])} of {record['rounds_asked']}; orders: "
            + "; ".join(" → ".join(r["order"]) for r in record["rounds"]), ""]
    if record.get("error"):
        head += [f"**Stopped:** {record['error'][:2000]}", ""]
    if record.get("failed"):
        head += ["**Failed (not counted):**", *[f"- {f}" for f in record["failed"]], ""]
    samples = ["", "## Samples (seconds, changes the tool reported)", "",
               "| round | " + " | ".join(f"{t} first | {t} no-op" for t in tools) + " |",
               "| --- |" + " --- | --- |" * len(tools)]
    for r in record["rounds"]:
        cells = []
        for tool in tools:
            for phase in ("first", "noop"):
                s = r[phase].get(tool)
                cells.append("failed" if s and "error" in s else f"{s['seconds']:.2f} ({s['changes']})" if s else "-")
        samples.append(f"| {r['round']} | " + " | ".join(cells) + " |")
    ends = ["", "## End state (deploy-wizard's check and plan on each tool's server, the page, the rows)", "",
            *_end_states(record)]
    return "\n".join(head + [table(record, tools, base)] + samples + ends)
