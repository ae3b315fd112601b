"""Formats one `cargo lambda invoke` answer (an outcome object) as a line of the demo's table."""
import json
import sys

name = sys.argv[1]
text = sys.stdin.read()
try:
    o = json.loads(text)
except ValueError:
    print(f"   {name:<50} ERROR {text.strip()}")
    sys.exit()
line = f"   {name:<50} {o['outcome']:<10} {o.get('repository') or ''}"
if o.get("rules"):
    line += "  rules=" + ",".join(o["rules"])
if o.get("sweep"):
    counts = ", ".join(f"{k} {o['sweep'][k]}" for k in
                       ["listed", "matching", "applied", "unchanged", "revoked", "skipped", "failed",
                        "notReached", "coverageSweeps"])
    line += "\n" + " " * 54 + "sweep: " + counts
for d in o.get("documents") or []:
    line += "\n" + " " * 54 + f"{d['document']}: {d['outcome']}"
if o.get("sweep") and o["sweep"].get("documents"):
    for d in o["sweep"]["documents"]:
        line += "\n" + " " * 54 + f"{d['document']}: {d['outcome']}"
if o.get("reason"):
    line += "\n" + " " * 54 + "reason: " + o["reason"]
print(line)
