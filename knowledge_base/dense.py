"""Vector search with faiss: exact inner product for small sets, IVF above a size threshold."""

from __future__ import annotations

import math

import faiss
import numpy as np

TRAIN_POINTS_PER_LIST = 40  # faiss wants about 39 training points per centroid
# Searches come one query at a time; handing one query to OpenMP threads costs more than it
# saves, and on a shared machine idle threads spin against other work (10x slower measured).
faiss.omp_set_num_threads(1)


class DenseIndex:
    """Inner-product search over normalised vectors (so scores are cosines)."""

    def __init__(self, vectors: np.ndarray, approx_threshold: int = 50_000) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.size, self.dim = vectors.shape
        index: faiss.Index
        if self.size > approx_threshold:
            # Exact search is linear in the set size. IVF scans only the nearest clusters and,
            # unlike HNSW, builds in seconds on two cores at a few hundred thousand vectors.
            nlist = max(1, int(math.sqrt(self.size)))
            self._quantizer = faiss.IndexFlatIP(self.dim)  # must outlive the IVF index
            index = faiss.IndexIVFFlat(self._quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            step = max(1, self.size // (nlist * TRAIN_POINTS_PER_LIST))
            index.train(vectors[::step])
            index.nprobe = min(nlist, max(8, nlist // 24))
            self.kind = "ivf"
        else:
            index = faiss.IndexFlatIP(self.dim)
            self.kind = "flat"
        if self.size:
            index.add(vectors)
        self.index = index

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row ids of the k nearest vectors; ids of -1 mean 'no more results'."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        scores, ids = self.index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]
