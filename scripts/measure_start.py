"""Start to exit of the release binary on the event path, and its peak memory: the figure the
README keeps for the Lambda's cold start (reading the rules, building the SDK configuration and
the ECR client, DescribeRegistry, one event), against the local emulator on loopback.

    python scripts/measure_start.py [BINARY] [RUNS]

BINARY defaults to target/release/ecr-policy-remediator (`cargo build --release`). Prints the
median and the spread of the wall time, the peak resident set size, and the binary's size.
"""

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "target" / "release" / "ecr-policy-remediator")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    if not binary.is_file():
        raise SystemExit(f"{binary} is missing: run `cargo build --release`")
    port = free_port()
    env = {**os.environ, "MOTO_ACCOUNT_ID": "111111111111"}
    moto = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "moto_ext.py"), "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUST_LOG"))}
        env.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true")
        args = [str(binary), "handle", "--config", "events/config.json", "events/skip-delete-repository.json"]
        times, peaks = [], []
        for _ in range(runs + 1):
            start = time.perf_counter()
            child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            times.append(time.perf_counter() - start)
            peaks.append(usage.ru_maxrss / 1024)
            if status != 0:
                raise SystemExit(f"{' '.join(args)} exited with {status}")
        times, peaks = times[1:], peaks[1:]  # the first run warms the emulator
        print(f"binary               {binary.stat().st_size / 1e6:.1f} MB")
        print(f"start to exit        median {statistics.median(times) * 1000:.1f} ms "
              f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}) over {runs} runs")
        print(f"peak RSS             {max(peaks):.1f} MB")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
