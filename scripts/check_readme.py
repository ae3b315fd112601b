"""Runs the documentation's command blocks that can run here, as written, and refuses a command
block that says neither how it is checked nor that it needs AWS, so that the docs cannot drift
from the code.

The files: README.md, docs/*.md and CONTRIBUTING.md. The word after a fence's language says what
the check does with the block:

    ```sh emulator-serve   started in the background, like a first terminal; it keeps running
    ```sh emulator         run to the end, in order, like a second terminal; must exit 0
    ```sh make             `make TARGET` lines only; each must be a target the Makefile has
                           (`make -n TARGET`: nothing is run)
    ```sh aws              needs an AWS account: shown, never run
    ```json rules          a rules file: `ecr-policy-remediator check-config` must accept it

In README.md and docs/, a `sh`, `bash`, `shell`, `zsh` or `console` block without one of the first
four markers fails the check with its file and line, and so does a block that names no language at
all (write `text` for output, queries and synopses). Other languages (json, hcl, text, mermaid)
are shown only. CONTRIBUTING.md's marked blocks run too; its unmarked ones are left alone.

What differs from a reader's shell: the emulator's 5055 and cargo-lambda's 9000 become free
loopback ports (whole numbers only), so that the check never meets a port something else holds;
`target/debug`, freshly built with both binaries (`ecr-policy-remediator` and
`ecr-policy-remediator-lambda`), comes first on PATH, standing in for the `~/.cargo/bin` that
`make install` fills; and no AWS_ or MOTO_ variable comes in from outside: each block sets what it
needs, or fails as a reader's would. Each file's blocks run in order in a session of their own:
the servers a file started are stopped before the next file.

    python scripts/check_readme.py          build, then check and run every block
    python scripts/check_readme.py --list   find and classify the blocks only: no build, nothing run

Run by `make test` (`make readme-test`); prints one line per block, then
`readme: N passed, N failed, N shown only (aws)`.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTS = {"5055": "emulator", "9000": "cargo lambda"}
COMMAND_LANGUAGES = {"sh", "bash", "shell", "zsh", "console"}
COMMAND_MARKERS = {"emulator-serve", "emulator", "make", "aws"}
OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*(.*)$")


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    marker: str
    body: str

    @property
    def where(self):
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def first_line(self):
        lines = [l for l in self.body.strip().splitlines() if l.strip()]
        return lines[0].strip() if lines else "(empty)"


def documents():
    """The files whose blocks are read, and whether their command blocks must carry a marker."""
    files = [(ROOT / "README.md", True)]
    files += [(p, True) for p in sorted((ROOT / "docs").glob("*.md"))]
    if (ROOT / "CONTRIBUTING.md").is_file():
        files.append((ROOT / "CONTRIBUTING.md", False))
    return [(p, enforced) for p, enforced in files if p.is_file()]


def parse(path):
    """Every fenced block of a Markdown file, with the line of its opening fence, and the lines
    outside them (number, text)."""
    lines = path.read_text().splitlines()
    blocks, prose, i = [], [], 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        start, body, i = i + 1, [], i + 1
        while i < len(lines):
            close = lines[i].strip()
            if close and set(close) == {fence[0]} and len(close) >= len(fence):
                break
            line = lines[i]
            body.append(line[indent:] if line[:indent].strip() == "" else line)
            i += 1
        i += 1
        words = info.split()
        language = words[0].lower() if words else ""
        marker = " ".join(words[1:])
        blocks.append(Block(path, start, language, marker, "\n".join(body) + "\n"))
    return blocks, prose


def fenced_blocks(path):
    return parse(path)[0]


def slug(heading):
    """GitHub's anchor for a heading: its text, lowercased, without punctuation, spaces as '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for _, line in parse(path)[1]:
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def broken_links(path):
    """Relative links (and their #anchors) of a page's prose that lead nowhere."""
    out = []
    for number, line in parse(path)[1]:
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                out.append((number, target, "no such file"))
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                out.append((number, target, f"no heading with anchor #{anchor} in {dest.relative_to(ROOT)}"))
    return out


def refusal(block):
    """Why a block of an enforced file is not acceptable, or None."""
    if not block.language:
        return "a fenced block names no language: say what it is (`sh emulator`, `sh aws`, `json`, `text`...)"
    if block.language in COMMAND_LANGUAGES and block.marker not in COMMAND_MARKERS:
        marker = f" `{block.marker}`" if block.marker else ""
        return (f"a `{block.language}` block with marker{marker or ' (none)'}: mark it `emulator` or "
                f"`emulator-serve` (run here), `make` (make targets) or `aws` (needs an AWS account); "
                f"see CONTRIBUTING.md")
    if block.language not in COMMAND_LANGUAGES and block.marker in COMMAND_MARKERS:
        return f"marker `{block.marker}` on a `{block.language}` block: commands are `sh` blocks"
    if block.marker == "rules" and block.language != "json":
        return "marker `rules` belongs on a `json` block"
    return None


def kind(block):
    if block.language in COMMAND_LANGUAGES and block.marker in COMMAND_MARKERS:
        return block.marker
    if block.language == "json" and block.marker == "rules":
        return "rules"
    return None


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


def with_ports(body, ports):
    """The body with the well-known ports replaced (whole numbers only), and the ports it uses."""
    used = []
    for old, new in ports.items():
        body, n = re.subn(rf"(?<![0-9]){old}(?![0-9])", new, body)
        if n:
            used.append(int(new))
    return body, used


# Where `cargo build` leaves the binaries: cargo honours CARGO_TARGET_DIR, and so must the check
# (as infra/tests/check_infra.py does), or a build dir of one's own leaves PATH without them.
BINARIES = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve() / "debug"


def clean_env():
    """The environment of a reader's fresh shell: no AWS settings from whoever runs the check, and
    the binaries `make install` would have put on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env["PATH"] = f"{BINARIES}{os.pathsep}{env.get('PATH', '')}"
    return env


def build():
    """Both binaries, in target/debug (what `cargo test` has mostly built already)."""
    result = subprocess.run(["cargo", "build", "--bins", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    return result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def make_targets(body):
    """The targets a `sh make` block names, or the line that is not a make command."""
    targets = []
    for line in body.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        words = shlex.split(command)
        if words[0] != "make" or len(words) < 2:
            return None, line.strip()
        targets += [w for w in words[1:] if "=" not in w and not w.startswith("-")]
    return targets, None


def check_make(block):
    targets, stray = make_targets(block.body)
    if stray is not None:
        return False, f"a `sh make` block holds make commands only; this is not one: {stray}"
    for target in targets:
        result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            return False, f"`make {target}`: the Makefile has no such target\n{result.stderr[-1000:]}"
    return True, ""


def check_rules(block):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(block.body)
    try:
        result = subprocess.run(["ecr-policy-remediator", "check-config", f.name], cwd=ROOT, env=clean_env(),
                                capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)
    return result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def serve(block, body, ports, n):
    log = open(Path(tempfile.gettempdir()) / f"readme-block-{block.path.stem}-{n}.log", "w")
    server = subprocess.Popen(["bash", "-c", body], cwd=ROOT, env=clean_env(), stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    # Everything it serves must listen before the next block runs; cargo lambda watch compiles the
    # function first.
    deadline = time.time() + 900
    while not all(listening(p) for p in ports):
        if server.poll() is not None or time.time() > deadline:
            break
        time.sleep(0.5)
    ok = all(listening(p) for p in ports)
    return server, ok, "" if ok else open(log.name).read()[-3000:]


def run_file(blocks, built):
    """Runs one file's blocks in order; returns (passed, failed, shown)."""
    ports = {old: str(free_port()) for old in PORTS}
    passed = failed = shown = 0
    servers = []
    try:
        for n, block in enumerate(blocks, 1):
            what = kind(block)
            if what is None:
                continue
            if what == "aws":
                shown += 1
                continue
            body, used = with_ports(block.body, ports)
            if what in ("emulator-serve", "emulator", "rules") and not built[0]:
                ok, detail = False, "not run: the binaries did not build\n" + built[1]
            elif what == "emulator-serve":
                server, ok, detail = serve(block, body, used, n)
                servers.append(server)
            elif what == "emulator":
                result = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=ROOT, env=clean_env(),
                                        capture_output=True, text=True, timeout=900)
                ok, detail = result.returncode == 0, (result.stdout + result.stderr)[-3000:]
            elif what == "make":
                ok, detail = check_make(block)
            else:
                ok, detail = check_rules(block)
            print(f"{'ok' if ok else 'FAILED':<8}{block.where} ({what}): {block.first_line}")
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
    return passed, failed, shown


def main():
    list_only = "--list" in sys.argv[1:]
    files = [(path, enforced, fenced_blocks(path)) for path, enforced in documents()]
    failed = 0
    for path, enforced, blocks in files:
        for number, target, why in broken_links(path):
            print(f"FAILED  {path.relative_to(ROOT)}:{number}: link {target}: {why}")
            failed += 1
        for block in blocks:
            why = refusal(block) if enforced else None
            if why:
                print(f"FAILED  {block.where}: {why}")
                failed += 1
            elif list_only:
                print(f"{kind(block) or 'shown':<16}{block.where} ({block.language or 'no language'}): {block.first_line}")
    runnable = [b for _, _, blocks in files for b in blocks if kind(b) in ("emulator-serve", "emulator")]
    if not runnable:
        print("FAILED  no block of README.md, docs/ or CONTRIBUTING.md is marked `sh emulator`")
        failed += 1
    if list_only:
        print(f"readme: {failed} problem(s) (--list: nothing built or run)")
        sys.exit(1 if failed else 0)

    needs_binary = any(kind(b) in ("emulator-serve", "emulator", "rules") for _, _, blocks in files for b in blocks)
    built = build() if needs_binary else (True, "")
    passed = shown = 0
    for path, _, blocks in files:
        p, f, s = run_file(blocks, built)
        passed, failed, shown = passed + p, failed + f, shown + s
    print(f"readme: {passed} passed, {failed} failed, {shown} shown only (aws)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
