"""Formats one `cargo lambda invoke` answer (an outcome object, on standard input) as a line of the
demo's table, and judges it.

    outcome_line.py NAME [--exit RC] [--timeout SECONDS] [--stderr FILE] [--failures FILE]

A failed invocation is one that timed out (exit 124), exited non-zero, answered no JSON outcome, or
answered `failed` (or left a document or a sweep's repository `failed`) when its sample is not
meant to. Each failure is appended to the --failures file as `NAME (why)`, for the demo's last line.

Which samples are meant to end `failed` is read from the list the tests hold, in
tests/moto.rs `every_sample_event_has_its_intended_outcome`: one source of truth. (The demo's other
outcomes may differ from that list: it makes the drift the drift samples record, and seeds the
registry differently, so only `failed` is judged.)
"""
import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTATIONS = ROOT / "tests" / "moto.rs"
TEST = "every_sample_event_has_its_intended_outcome"
INDENT = " " * 54


def intended_outcomes():
    """{sample file name: intended outcome}, as `"applied"`, from the test's expectation list."""
    text = EXPECTATIONS.read_text()
    start = text.find(f"fn {TEST}")
    end = text.find("];", start)
    if start < 0 or end < 0:
        sys.exit(f"outcome_line.py: {EXPECTATIONS} has no `fn {TEST}` with its list of outcomes")
    pairs = re.findall(r'\(\s*"([^"]+\.json)"\s*,\s*Status::(\w+)\s*,?\s*\)', text[start:end])
    if not pairs:
        sys.exit(f"outcome_line.py: found no (sample, Status::...) pairs in {EXPECTATIONS} `{TEST}`")
    return {name: status.lower() for name, status in pairs}


def table_line(name, o):
    line = f"   {name:<50} {o['outcome']:<10} {o.get('repository') or ''}"
    if o.get("rules"):
        line += "  rules=" + ",".join(o["rules"])
    if o.get("sweep"):
        counts = ", ".join(f"{k} {o['sweep'][k]}" for k in
                           ["listed", "matching", "applied", "unchanged", "revoked", "skipped", "failed",
                            "notReached", "coverageSweeps"])
        line += "\n" + INDENT + "sweep: " + counts
    for d in o.get("documents") or []:
        line += "\n" + INDENT + f"{d['document']}: {d['outcome']}"
    if o.get("sweep") and o["sweep"].get("documents"):
        for d in o["sweep"]["documents"]:
            line += "\n" + INDENT + f"{d['document']}: {d['outcome']}"
    if o.get("reason"):
        line += "\n" + INDENT + "reason: " + o["reason"]
    return line


def failures_in(name, o):
    """Why this outcome is a failure of the demo: [] when it is not."""
    meant_to_fail = intended_outcomes().get(name) == "failed"
    if meant_to_fail:
        return []
    why = []
    if o["outcome"] == "failed":
        why.append("outcome failed" + (f": {o['reason']}" if o.get("reason") else ""))
    documents = list(o.get("documents") or []) + list((o.get("sweep") or {}).get("documents") or [])
    why += [f"{d['document']} failed" for d in documents if d.get("outcome") == "failed"]
    if (o.get("sweep") or {}).get("failed"):
        why.append(f"the sweep failed on {o['sweep']['failed']} repository(ies)")
    return why


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--exit", type=int, default=0, dest="rc")
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--stderr", type=Path)
    parser.add_argument("--failures", type=Path)
    args = parser.parse_args()
    name = args.name
    text = sys.stdin.read()
    err = args.stderr.read_text(errors="replace").strip() if args.stderr and args.stderr.exists() else ""
    # What the invocation said on standard error, for the table and the summary, without
    # cargo-lambda's invitation to report a bug.
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    lines = [line for line in lines
             if not line.startswith(("Was this behavior unexpected?", "Start a thread in"))]
    said = " | ".join(lines)[:300]

    why = []
    if args.rc == 124:
        seconds = f"{args.timeout:.0f}s" if args.timeout else "its deadline"
        print(f"   {name:<50} TIMEOUT    no answer after {seconds}")
        why.append(f"timeout: no answer after {seconds}")
    else:
        try:
            o = json.loads(text)
            if not isinstance(o, dict) or "outcome" not in o:
                raise ValueError("not an outcome object")
        except ValueError:
            print(f"   {name:<50} ERROR      {(text.strip() or said or 'no answer')[:300]}")
            why.append(f"exit {args.rc}" if args.rc else "no JSON outcome")
            if args.rc and said:
                why[-1] += f": {said}"
        else:
            print(table_line(name, o))
            if args.rc:
                why.append(f"exit {args.rc}" + (f": {said}" if said else ""))
            why += failures_in(name, o)
    if why and args.failures:
        with args.failures.open("a") as f:
            f.write(f"{name} ({', '.join(why)})".replace("\n", " ") + "\n")


if __name__ == "__main__":
    main()
