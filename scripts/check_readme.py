"""Runs the README's shell blocks that target the local emulator, as written, so that the docs
cannot drift from the code.

A block is run when its fence says so:

    ```sh emulator-serve    started in the background, like a first terminal; it keeps running
    ```sh emulator          run to the end, in order, like a second terminal; must exit 0

Only the ports change: the emulator's 5000 and cargo-lambda's 9000 become free loopback ports, so
that the check never meets a port something else holds. Nothing else is rewritten, and the blocks
get no AWS variable from outside: each sets what it needs, or fails as a reader's would.
Run by `make test` (`make readme-test`); prints `readme: N passed, N failed`.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```sh (emulator-serve|emulator)\n(.*?)^```", re.M | re.S)
PORTS = {"5000": "emulator", "9000": "cargo lambda"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def blocks(text):
    """The marked blocks, in order, with their ports replaced (whole numbers only)."""
    ports = {old: str(free_port()) for old in PORTS}
    out = []
    for kind, body in FENCE.findall(text):
        for old, new in ports.items():
            body = re.sub(rf"(?<![0-9]){old}(?![0-9])", new, body)
        out.append((kind, body))
    return out, [int(p) for p in ports.values()]


def clean_env():
    """The environment of a reader's fresh shell: no AWS settings from whoever runs the check."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}


def main():
    found, ports = blocks((ROOT / "README.md").read_text())
    passed, failed = 0, 0
    servers = []
    try:
        for i, (kind, body) in enumerate(found, 1):
            first_line = body.strip().splitlines()[0]
            if kind == "emulator-serve":
                log = open(f"/tmp/readme-block-{i}.log", "w")
                servers.append(subprocess.Popen(["bash", "-c", body], cwd=ROOT, env=clean_env(),
                                                stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True))
                # Everything it serves must listen before the next block runs; cargo lambda
                # watch compiles the function first.
                deadline = time.time() + 900
                while not all(listening(p) for p in ports):
                    if servers[-1].poll() is not None or time.time() > deadline:
                        break
                    time.sleep(0.5)
                ok = all(listening(p) for p in ports)
                detail = "" if ok else open(log.name).read()[-3000:]
            else:
                result = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=ROOT, env=clean_env(),
                                        capture_output=True, text=True, timeout=900)
                ok = result.returncode == 0
                detail = (result.stdout + result.stderr)[-3000:]
            print(f"{'ok' if ok else 'FAILED':<8}README block {i} ({kind}): {first_line}")
            if not ok:
                print(detail)
            passed, failed = passed + ok, failed + (not ok)
    finally:
        for server in servers:
            try:
                os.killpg(server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            server.wait()
    if not found:
        print("FAILED  no block of README.md is marked `sh emulator`")
        failed += 1
    print(f"readme: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
