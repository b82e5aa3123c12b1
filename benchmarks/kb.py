"""Knowledge-base benchmark: eval figures per retriever, then build and search times at scale.

    .venv/bin/python benchmarks/kb.py                 # everything, prints figures
    .venv/bin/python benchmarks/kb.py --sizes 1000    # a quick run
    .venv/bin/python benchmarks/kb.py --write         # also rewrite the section in BENCHMARKS.md

Synthetic entries are made from the demo FAQ (new ids, product codes and wordings), so texts
are realistic Chinese but distinct; every size starts with an empty embedding cache. Prints
figures only; it asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import KBConfig, KnowledgeBase  # noqa: E402
from knowledge_base.embedder import Embedder  # noqa: E402
from knowledge_base.entry import Entry  # noqa: E402
from knowledge_base.evaluate import evaluate, percentile, read_queries  # noqa: E402
from knowledge_base.index import SearchIndex  # noqa: E402
from knowledge_base.loader import load_dir  # noqa: E402

FAQ = ROOT / "knowledge_base" / "faq"
QUERIES = ROOT / "knowledge_base" / "eval" / "queries.jsonl"
MARK_START = "<!-- kb-benchmark:start -->"
MARK_END = "<!-- kb-benchmark:end -->"
MACHINE = "2-core `python-svc` (shared), 24 GiB, CPU only"
DATE = "2026-11-23"
VARIANTS = [
    ("hybrid (default: kb-static-zh + BM25)", {"mode": "hybrid"}),
    ("dense only, kb-static-zh", {"mode": "dense"}),
    ("dense only, English MiniLM (minilm-en)", {"mode": "dense", "model": "minilm-en"}),
    ("lexical only (BM25, jieba + bigrams)", {"mode": "lexical"}),
    ("hybrid with English MiniLM", {"mode": "hybrid", "model": "minilm-en"}),
]
OPENERS = ["", "请问", "你好，", "麻烦问一下", "咨询一下，", "急！", "在吗，"]
_CODE = re.compile(r"\b([A-Z]{2})-(\d{2,4})\b")


def rss_mb() -> float:
    """Current resident memory of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def synthetic_entries(n: int, seed: int = 0) -> list[Entry]:
    """n distinct entries derived from the demo ones (ids, model codes and openers vary)."""
    rng = random.Random(seed)
    demo = load_dir(FAQ).entries
    out = []
    for i in range(n):
        base = demo[i % len(demo)]
        gen = i // len(demo)
        opener = OPENERS[rng.randrange(len(OPENERS))]

        def vary(text: str, gen: int = gen) -> str:
            if not gen:
                return text
            return _CODE.sub(lambda m: f"{m.group(1)}-{m.group(2)}{gen}", text)

        suffix = f"（{gen}号系列）" if gen else ""
        alternates = tuple(vary(a) + suffix for a in base.alternates if rng.random() < 0.8)
        out.append(
            replace(
                base,
                id=f"{base.id}-{gen}",
                question=opener + vary(base.question) + suffix,
                alternates=alternates,
                answer=vary(base.answer),
                products=tuple(vary(p) for p in base.products),
            )
        )
    return out


def eval_variants() -> list[tuple[str, dict[str, float]]]:
    """The eval set against every retriever variant."""
    queries = read_queries(QUERIES)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name, overrides in VARIANTS:
            config = KBConfig(cache_dir=Path(cache), **overrides)  # type: ignore[arg-type]
            kb = KnowledgeBase(FAQ, config)
            result = evaluate(kb.search, queries).summary()
            rows.append((name, result))
            print(
                f"{name:42} " + "  ".join(f"{k}={v:.3f}" for k, v in result.items() if k != "n"),
                f"n={result['n']}",
                flush=True,
            )
    return rows


def scale_run(n: int, queries: list[str]) -> dict[str, float | str]:
    """Build an index of n synthetic entries (cold cache, then warm) and time searches."""
    entries = synthetic_entries(n)
    gc.collect()
    before = rss_mb()
    with tempfile.TemporaryDirectory() as cache:
        config = KBConfig(cache_dir=Path(cache))
        embedder = Embedder(config.model, config.cache_dir)
        embedder.embed(["预热"])  # model load is not index build time
        started = time.perf_counter()
        index = SearchIndex(entries, config, embedder, progress=True)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        warm_index = SearchIndex(entries, config, embedder, progress=False)
        warm = time.perf_counter() - started
        del warm_index
        gc.collect()
        memory = rss_mb() - before
        times = []
        for q in queries:
            t0 = time.perf_counter()
            index.search(q, k=5)
            times.append((time.perf_counter() - t0) * 1000)
        product_times = []
        for q in queries[:100]:
            t0 = time.perf_counter()
            index.search(q, k=5, product="WM-100")
            product_times.append((time.perf_counter() - t0) * 1000)
    row: dict[str, float | str] = {
        "entries": n,
        "texts": index.stats.texts,
        "dense": index.stats.dense_kind,
        "build_cold_s": cold,
        "build_warm_s": warm,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "p50_product_ms": percentile(product_times, 50),
        "rss_mb": memory,
    }
    print(
        f"{n:>7} entries ({row['texts']} texts, {row['dense']}): build {cold:.1f}s cold / "
        f"{warm:.1f}s warm cache, search p50 {row['p50_ms']:.2f} ms p95 {row['p95_ms']:.2f} ms "
        f"(with product filter p50 {row['p50_product_ms']:.2f} ms), +{memory:.0f} MB RSS",
        flush=True,
    )
    return row


def markdown(evals: list[tuple[str, dict[str, float]]], scale: list[dict[str, float | str]]) -> str:
    """The BENCHMARKS.md section."""
    lines = [
        MARK_START,
        "## Knowledge base search (`benchmarks/kb.py`)",
        "",
        f"Machine: {MACHINE}. Date: {DATE}. Python {platform.python_version()}. "
        f"Load average at the end of the run: {os.getloadavg()[0]:.1f} (other work shares the "
        "two cores, so timings are pessimistic and vary between runs).",
        "",
        f"Eval set: `knowledge_base/eval/queries.jsonl` ({evals[0][1]['n'] if evals else 0} "
        "customer-style queries over the 237-entry demo FAQ); latency is per query, k=10.",
        "",
        "The default model `kb-static-zh` is trained on the demo FAQ's own questions, alternates "
        "and answer sentences (`python -m knowledge_base train-model`, seed 0); the tokenizer "
        "kind, training settings and fusion weight were chosen on `eval/dev.jsonl` only; "
        "`queries.jsonl` gave the figures below and the band thresholds "
        "(`calibrate --precision 0.95` with `eval/negatives.jsonl`).",
        "",
        "| retriever | hit@1 | hit@3 | MRR@10 | p50 ms | p95 ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in evals:
        lines.append(
            f"| {name} | {r['hit_at_1']:.3f} | {r['hit_at_3']:.3f} | {r['mrr_at_10']:.3f} "
            f"| {r['p50_ms']:.2f} | {r['p95_ms']:.2f} |"
        )
    lines += [
        "",
        "Scale (synthetic entries from the demo FAQ, default hybrid retriever; cold = empty "
        "embedding cache, warm = everything cached; RSS = growth of the process while both "
        "indexes were alive then one dropped):",
        "",
        "| entries | texts | dense index | build cold s | build warm s | search p50 ms "
        "| search p95 ms | p50 with product filter ms | RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in scale:
        lines.append(
            f"| {r['entries']} | {r['texts']} | {r['dense']} | {r['build_cold_s']:.1f} "
            f"| {r['build_warm_s']:.1f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} "
            f"| {r['p50_product_ms']:.2f} | {r['rss_mb']:.0f} |"
        )
    lines += [
        "",
        "Notes: synthetic entries repeat the demo wording, which flatters the jieba memo "
        "(tokenizing is most of a warm build). RSS is process growth and includes allocator "
        "slack; vectors take 4 bytes x 256 per text, held twice (numpy for re-scoring, faiss).",
    ]
    lines.append(MARK_END)
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) the knowledge-base section of BENCHMARKS.md."""
    path = ROOT / "BENCHMARKS.md"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if MARK_START in current and MARK_END in current:
        head, rest = current.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1].lstrip("\n")
        current = head + text + tail
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current, encoding="utf-8")


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--write", action="store_true", help="rewrite the section in BENCHMARKS.md")
    args = parser.parse_args()
    evals = [] if args.skip_eval else eval_variants()
    queries = [q.query for q in read_queries(QUERIES)][:300]
    scale = [scale_run(int(n), queries) for n in args.sizes.split(",") if n]
    text = markdown(evals, scale)
    print(text)
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
