"""Start-up time and idle memory: the playground vs a minimal one-textbox Gradio app.

    .venv/bin/python bench/startup.py [--repeat 3]

Time = from starting the process (`python app.py --offline --port P`, as `make run` does)
until GET / answers 200 with the page. Memory = resident set size of the server process
(psutil) once the page has been served, before any request that loads a model.
Target (issue 7): at most 1.5x the minimal app's time. Method: the two apps alternate,
--repeat runs each, median reported; same machine, same Python, same gradio.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(cmd: list[str], port: int) -> tuple[float, float]:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200 and b"gradio" in response.read().lower():
                        break
            except OSError:
                time.sleep(0.05)
        elapsed = time.perf_counter() - start
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        return elapsed, rss
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"minimal": [], "playground": []}
    for _ in range(args.repeat):
        port = free_port()
        results["minimal"].append(measure([sys.executable, "bench/minimal_app.py", str(port)], port))
        port = free_port()
        results["playground"].append(measure([sys.executable, "app.py", "--offline", "--port", str(port)], port))
    print(f"# Start-up to first page, median of {args.repeat} (alternating runs)")
    summary = {}
    for name, runs in results.items():
        t = statistics.median(r[0] for r in runs)
        m = statistics.median(r[1] for r in runs)
        summary[name] = (t, m)
        print(f"{name:<11} {t:6.2f} s   {m:6.0f} MiB resident")
    ratio = summary["playground"][0] / summary["minimal"][0]
    print(f"ratio {ratio:.2f}x (target <= 1.5x); memory +{summary['playground'][1] - summary['minimal'][1]:.0f} MiB")


if __name__ == "__main__":
    main()
