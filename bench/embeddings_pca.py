"""2-D PCA on the app's shapes: a Gram-matrix PCA vs scikit-learn's.

Because of this measurement `numeric.pca_2d` uses each where it is faster: the Gram matrix up to
`numeric.GRAM_PCA_MAX_POINTS` points, scikit-learn above. Both are written out here again so the
measurement does not depend on that choice.

    .venv/bin/python bench/embeddings_pca.py [--repeat 30]

Method: each shape runs in a freshly started Python process (subprocess), so neither side
inherits the other's warm caches or thread pools. Inside it, the two are called alternately
(Gram, sklearn, Gram, sklearn, …) after one warm-up call each, on the same float32 data
(normal noise around 4 cluster centres), and the median of each is reported with the ratio
sklearn / Gram (> 1: Gram is faster). Both outputs are checked equal up to sign.
Shapes: the example corpus (20 × 384), a class-sized corpus (200 × 384), the word map's limit
(200 × 300 fastText), a large upload (2,000 × 384) and the corpus limit (5,000 × 384).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ((20, 384), (200, 384), (200, 300), (2_000, 384), (5_000, 384))

CHILD = r"""
import json, statistics, sys, time
import numpy as np
from sklearn.decomposition import PCA

n, d, repeat = {n}, {d}, {repeat}
rng = np.random.default_rng(0)
centres = rng.normal(scale=3, size=(4, d))
x = (centres[rng.integers(0, 4, n)] + rng.normal(size=(n, d))).astype(np.float32)

def gram():
    # Eigenvectors of the smaller Gram matrix (d × d covariance, or n × n with fewer points than dimensions).
    c = x.astype(np.float64) - x.mean(axis=0)
    if c.shape[0] >= c.shape[1]:
        top = np.linalg.eigh(c.T @ c)[1][:, ::-1][:, :2].T
    else:
        top = (c.T @ np.linalg.eigh(c @ c.T)[1][:, ::-1][:, :2]).T
        top /= np.linalg.norm(top, axis=1, keepdims=True)
    return c @ top.T

def sk():
    return PCA(n_components=2).fit_transform(x)

a, b = gram(), sk()
same = bool(np.allclose(np.abs(a), np.abs(b), rtol=1e-2, atol=1e-3 * float(np.abs(b).max())))
times = {{"gram": [], "sklearn": []}}
for _ in range(repeat):
    for name, fn in (("gram", gram), ("sklearn", sk)):
        started = time.perf_counter()
        fn()
        times[name].append(time.perf_counter() - started)
print(json.dumps({{k: statistics.median(v) for k, v in times.items()}} | {{"same": same}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.common import machine

    print(f"{machine()}; median of {args.repeat} alternating calls per shape, one fresh process per shape")
    print(f"{'shape':>12} {'Gram ms':>10} {'sklearn ms':>11} {'sklearn/Gram':>13}  same coords")
    for n, d in SHAPES:
        code = CHILD.format(root=str(ROOT), n=n, d=d, repeat=args.repeat)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{n:>6} × {d:<4} {r['gram'] * 1e3:>10.2f} {r['sklearn'] * 1e3:>11.2f} "
              f"{r['sklearn'] / r['gram']:>12.2f}×  {r['same']}")


if __name__ == "__main__":
    main()
