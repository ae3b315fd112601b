"""The Lambda's cold start, measured: from exec to the answer of its first event, and its peak
memory, against the local emulator on loopback. What it covers is what Lambda pays on a cold start:
reading the rules, building the SDK configuration and the ECR client, DescribeRegistry, then one
event (events/skip-delete-repository.json, which needs no further ECR call) through the runtime.

    python scripts/measure_start.py [BINARY ...] [--runs N]

BINARY defaults to target/release/ecr-policy-remediator-lambda (`cargo build --release`). With
several binaries, the runs are interleaved (A B A B ...) so that the machine's load falls on each
alike. Prints, per binary, its size, the median and spread of the time to the first answer, and
the peak resident set size.

The function is started as Lambda starts it: AWS_LAMBDA_RUNTIME_API points at a stand-in for the
Lambda Runtime API that serves the one event (`GET .../invocation/next`) and takes its answer
(`POST .../invocation/ID/response`); the process is then stopped, as Lambda freezes it.
"""

import http.server
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENT = (ROOT / "events" / "skip-delete-repository.json").read_bytes()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)


class RuntimeApi(http.server.ThreadingHTTPServer):
    """The two calls of the Lambda Runtime API a function makes per invocation."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.answered = threading.Event()
        self.served = False


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.server.served:
            # The next invocation: none comes; the function is stopped as soon as it has answered,
            # so this call only needs to end.
            self.server.answered.wait(5)
            self.close_connection = True
            return
        self.server.served = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "measure-0")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:111111111111:function:ecr-policy-remediator")
        self.send_header("Content-Length", str(len(EVENT)))
        self.end_headers()
        self.wfile.write(EVENT)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.response = (self.path, body)
        self.server.answered.set()


def one_run(binary, env):
    # A Runtime API of its own per run: a call the previous process made as it was stopped must
    # not take this run's event.
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}"}
    start = time.perf_counter()
    child = subprocess.Popen([str(binary)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    if not api.answered.wait(30):
        child.kill()
        raise SystemExit(f"{binary} gave no answer in 30 s")
    elapsed = time.perf_counter() - start
    child.send_signal(signal.SIGKILL)
    _, _, usage = os.wait4(child.pid, 0)
    api.shutdown()
    path, body = api.response
    if not path.endswith("/response"):
        raise SystemExit(f"{binary} reported an error: {path} {body[:200]!r}")
    return elapsed, usage.ru_maxrss / 1024


def main():
    args = sys.argv[1:]
    runs = 20
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    binaries = [Path(a) for a in args] or [ROOT / "target" / "release" / "ecr-policy-remediator-lambda"]
    for b in binaries:
        if not b.is_file():
            raise SystemExit(f"{b} is missing: run `cargo build --release`")
    port = free_port()
    moto = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "moto_ext.py"), "-H", "127.0.0.1", "-p", str(port)],
                            env={**os.environ, "MOTO_ACCOUNT_ID": "111111111111"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUST_LOG", "REMEDIATOR_"))}
        env.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_EC2_METADATA_DISABLED="true",
                   AWS_LAMBDA_FUNCTION_NAME="ecr-policy-remediator",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   REMEDIATOR_CONFIG_FILE=str(ROOT / "events" / "config.json"))
        results = {b: ([], []) for b in binaries}
        for b in binaries:
            one_run(b, env)  # the first run warms the emulator and the page cache
        for _ in range(runs):
            for b in binaries:
                t, peak = one_run(b, env)
                results[b][0].append(t)
                results[b][1].append(peak)
        for b, (times, peaks) in results.items():
            print(f"{b}")
            print(f"  binary               {b.stat().st_size / 1e6:.1f} MB")
            print(f"  start to first answer median {statistics.median(times) * 1000:.1f} ms "
                  f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}) over {runs} runs")
            print(f"  peak RSS             {max(peaks):.1f} MB")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
