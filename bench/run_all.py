"""Run the benchmarks one after another (`make bench`); each prints its own method and numbers.

The load test is not included (it launches the app and runs for a minute):
`python bench/load_test.py [--think 2]`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "highlighter_speed.py", "compare_speed.py", "generation_speed.py", "embeddings_encode.py",
    "embeddings_neighbours.py", "embeddings_umap.py", "chat_overhead.py", "startup.py",
]


def main() -> int:
    failed = []
    for script in SCRIPTS:
        print(f"\n=== {script}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script)], cwd=HERE.parent).returncode:
            failed.append(script)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
