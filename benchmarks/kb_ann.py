"""Where exact vector search stops being cheap: faiss exact (flat) vs IVF with 8-bit codes
per query, at growing numbers of vectors, for both dense signals' sizes (384 and 256).

    .venv/bin/python benchmarks/kb_ann.py                 # prints figures
    .venv/bin/python benchmarks/kb_ann.py --rows 20000,100000

Random unit vectors: the cost of exact search does not depend on the values, and IVF's
depends on them only through how evenly the lists fill. Picks `KBConfig.approx_threshold`:
the row count where one exact search (both signals) passes ~10 ms. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.evaluate import percentile  # noqa: E402
from knowledge_base.index import _ivf  # noqa: E402


def timed(fn, queries: np.ndarray) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50 and p95 in ms of fn over the queries."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return percentile(times, 50), percentile(times, 95)


def main() -> int:
    """Run it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,50000,100000,200000,400000")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    faiss.omp_set_num_threads(1)  # as the index does: one query, one thread
    print("rows     dim  exact p50/p95 ms   ivf p50/p95 ms   ivf build s")
    for rows in (int(r) for r in args.rows.split(",")):
        for dim in (384, 256):
            vectors = rng.standard_normal((rows, dim), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            queries = vectors[rng.integers(0, rows, args.queries)] + 0.05
            flat = faiss.IndexFlatIP(dim)
            flat.add(vectors)
            exact = timed(lambda q, i=flat: i.search(q[None, :], 400), queries)
            t0 = time.perf_counter()
            index, _quantizer = _ivf(vectors)
            built = time.perf_counter() - t0
            approx = timed(lambda q, i=index: i.search(q[None, :], 400), queries)
            print(
                f"{rows:>7} {dim:>4}  {exact[0]:6.1f} / {exact[1]:6.1f}    "
                f"{approx[0]:6.1f} / {approx[1]:6.1f}    {built:6.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
