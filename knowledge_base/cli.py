"""`python -m knowledge_base ...`: index, search, lint, eval, calibrate, train; any FAQ folder."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from knowledge_base.config import (
    MODES,
    KBConfig,
    default_cache_dir,
    default_model,
    parse_weights,
)
from knowledge_base.entry import FAQError
from knowledge_base.kb import KnowledgeBase

DEMO_FAQ = Path(__file__).with_name("faq")


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))


def _config(args: argparse.Namespace) -> KBConfig:
    overrides: dict[str, object] = {"model": args.model, "mode": args.mode}
    overrides["cache_dir"] = None if args.no_cache else Path(args.cache_dir).expanduser()
    config = replace(KBConfig(), **overrides)  # type: ignore[arg-type]
    if getattr(args, "weights", None):
        config = config.with_weights(_weights(args.weights))
    return config


def _weights(text: str) -> dict[str, float]:
    """`general=0.4,domain=0.3,char=0.3` -> a dict (signals left out get 0)."""
    try:
        return parse_weights(text)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def _open(args: argparse.Namespace, progress: bool = False) -> KnowledgeBase:
    return KnowledgeBase(args.faq_dir, _config(args), progress=progress)


def cmd_index(args: argparse.Namespace) -> int:
    """Build the index (embedding what is not cached yet) and report what was done."""
    kb = _open(args, progress=not args.json)
    stats = asdict(kb.stats)
    if args.json:
        _print_json(stats)
    else:
        print(
            f"indexed {stats['entries']} entries ({stats['texts']} texts) "
            f"in {stats['seconds']:.2f}s: "
            f"embedded {stats['embedded']}, from cache {stats['cached']}, "
            f"dense index {stats['dense_kind'] or '-'}, model {stats['model_id'] or '-'}"
        )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Search and print the hits with score and band."""
    kb = _open(args)
    hits = kb.search(args.query, k=args.k, product=args.product)
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, 1):
        print(
            f"{rank}. [{hit.band.value:7}] {hit.score:.3f}  {hit.id}  "
            f"({hit.category})  {hit.question}"
        )
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    """Report problems; exit 1 on errors (or on warnings with --strict)."""
    from knowledge_base.lint import lint_dir

    issues = lint_dir(args.dir, threshold=args.threshold)
    errors = [i for i in issues if i.severity == "error"]
    if args.json:
        _print_json([i.to_dict() for i in issues])
    else:
        for issue in issues:
            print(issue)
        print(f"{len(errors)} error(s), {len(issues) - len(errors)} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and issues) else 0


def cmd_eval(args: argparse.Namespace) -> int:
    """hit@1, hit@3, MRR@10 and latency over a labelled JSONL file."""
    from knowledge_base.evaluate import evaluate, read_queries

    queries = read_queries(args.queries)
    kb = _open(args)
    result = evaluate(kb.search, queries)
    if args.json:
        _print_json(result.summary())
        return 0
    print(f"n        {result.n}")
    print(f"hit@1    {result.hit_at_1:.3f}")
    print(f"hit@3    {result.hit_at_3:.3f}")
    print(f"MRR@10   {result.mrr_at_10:.3f}")
    print(f"p50 ms   {result.p50_ms:.2f}")
    print(f"p95 ms   {result.p95_ms:.2f}")
    if args.misses:
        for miss in result.misses:
            print(f"  miss: {miss['query']!r} expected {miss['expected']} rank {miss['rank']}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Choose fusion weights on dev queries (full and leave-category-out in-domain models),
    then band thresholds on the same dev queries and out-of-scope ones."""
    from knowledge_base.evaluate import calibrate, read_queries
    from knowledge_base.loader import load_dir
    from knowledge_base.variants import all_signals, choose_weights, holdout_model, signal_table

    positives = read_queries(args.queries)
    negatives = read_queries(args.negatives, allow_none=True) if args.negatives else []
    config = _config(args)
    weights = config.weights()
    chosen: dict[str, object] = {}
    if args.mode == "hybrid" and not args.keep_weights:
        from knowledge_base.embedder import Embedder
        from knowledge_base.index import SearchIndex

        entries = load_dir(args.faq_dir).entries
        base = all_signals(config)
        general = Embedder(config.general_model, config.cache_dir)
        full = SearchIndex(entries, base, Embedder(config.model, config.cache_dir), general=general)
        tables = [signal_table(full, positives)]
        if args.holdout:
            category_of = {e.id: e.category for e in entries}
            held = []
            for category in sorted({category_of[q.expected or ""] for q in positives}):
                model = holdout_model(entries, category, Path(args.work_dir).expanduser())
                index = SearchIndex(entries, base, Embedder(str(model), None), general=general)
                mine = [q for q in positives if category_of[q.expected or ""] == category]
                held.extend(signal_table(index, mine))
                print(f"holdout model without {category}: {len(mine)} dev queries", file=sys.stderr)
            tables.append(held)
        weights, score = choose_weights(tables, step=args.step, fusion=config.fusion)
        chosen = {"weights": weights, "dev_objective": round(score, 4)}
        config = config.with_weights(weights)
    kb = KnowledgeBase(args.faq_dir, config)
    result = calibrate(kb.search, positives, negatives, target_precision=args.precision)
    _print_json({**chosen, **asdict(result)})
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Every retriever variant side by side on one FAQ folder and queries file."""
    from knowledge_base.embedder import Embedder
    from knowledge_base.evaluate import read_queries
    from knowledge_base.index import SearchIndex
    from knowledge_base.loader import load_dir
    from knowledge_base.variants import all_signals, compare, holdout_model

    queries = read_queries(args.queries)
    config = _config(args)
    result = load_dir(args.faq_dir)
    if result.errors:
        raise FAQError(result.errors)
    model = args.model
    if args.train:
        # The in-domain model is trained on this folder's entries (never on the queries).
        model = str(holdout_model(result.entries, "", Path(args.work_dir).expanduser(), True))
    domain = Embedder(model, config.cache_dir)
    general = Embedder(config.general_model, config.cache_dir)
    index = SearchIndex(
        result.entries, all_signals(config), domain, progress=not args.json, general=general
    )
    rows = compare(index, queries, config)
    if args.json:
        _print_json({name: r.summary() for name, r in rows.items()})
        return 0
    print(f"{len(result.entries)} entries, {len(queries)} queries, in-domain model {model}")
    print(f"{'variant':12} {'hit@1':>6} {'hit@3':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for name, r in rows.items():
        print(
            f"{name:12} {r.hit_at_1:6.3f} {r.hit_at_3:6.3f} {r.mrr_at_10:7.3f} "
            f"{r.p50_ms:7.2f} {r.p95_ms:7.2f}"
        )
    return 0


def cmd_holdout(args: argparse.Namespace) -> int:
    """Cross-category holdout: the in-domain model never saw the category it is asked about."""
    from knowledge_base.evaluate import read_queries
    from knowledge_base.loader import load_dir
    from knowledge_base.variants import category_holdout

    queries = read_queries(args.queries)
    result = load_dir(args.faq_dir)
    if result.errors:
        raise FAQError(result.errors)
    config = _config(args)
    out = category_holdout(
        result.entries,
        queries,
        config,
        Path(args.work_dir).expanduser(),
        log=lambda line: print(line, file=sys.stderr),
    )
    summary = {name: r.summary() for name, r in out.overall.items()}
    _print_json({"overall": summary, "by_category": out.by_category})
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the static embedding model on a FAQ folder (never on eval queries)."""
    from knowledge_base.train import TrainSettings, train_static_model

    settings = TrainSettings(steps=args.steps, dim=args.dim, seed=args.seed, tokens=args.tokens)
    report = train_static_model(args.faq_dir, args.out, settings, progress=True)
    _print_json(asdict(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="python -m knowledge_base", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def retrieval(p: argparse.ArgumentParser, faq_required: bool = True) -> None:
        p.add_argument(
            "--faq-dir",
            type=Path,
            default=None if faq_required else DEMO_FAQ,
            required=faq_required,
            help="folder of FAQ YAML files",
        )
        p.add_argument(
            "--cache-dir",
            default=str(default_cache_dir()),
            help="where embeddings are cached (default: %(default)s)",
        )
        p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
        p.add_argument(
            "--model",
            default=default_model(),
            help="kb-static-zh, minilm-en, a local folder or a sentence-transformers name",
        )
        p.add_argument("--mode", choices=MODES, default="hybrid")
        p.add_argument(
            "--weights",
            default=None,
            help="fusion weights, e.g. general=0.4,domain=0.3,char=0.2,word=0.1",
        )
        p.add_argument("--json", action="store_true", help="machine-readable output")

    def work_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--work-dir",
            default=str(default_cache_dir() / "models"),
            help="where models trained for an evaluation are kept (default: %(default)s)",
        )

    p = sub.add_parser("index", help="build the index, with a progress bar")
    retrieval(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="search a FAQ folder")
    retrieval(p)
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5)
    p.add_argument(
        "--product", default=None, help="only entries for this model code, plus general ones"
    )
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("lint", help="check a FAQ folder")
    p.add_argument("dir", nargs="?", type=Path, default=DEMO_FAQ)
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.add_argument("--threshold", type=float, default=0.8, help="near-duplicate similarity")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("eval", help="hit@k, MRR and latency on labelled queries")
    retrieval(p)
    p.add_argument(
        "--queries", type=Path, required=True, help='JSONL: {"query": ..., "expected": id}'
    )
    p.add_argument("--misses", action="store_true", help="list queries whose top hit was wrong")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="suggest band thresholds")
    retrieval(p)
    p.add_argument("--queries", type=Path, required=True)
    p.add_argument("--negatives", type=Path, default=None, help='JSONL with "expected": null')
    p.add_argument(
        "--precision", type=float, default=0.95, help="wanted precision of the answer band"
    )
    p.add_argument("--keep-weights", action="store_true", help="only the band thresholds")
    p.add_argument(
        "--no-holdout",
        dest="holdout",
        action="store_false",
        help="choose weights on the full in-domain model only",
    )
    p.add_argument("--step", type=float, default=0.05, help="weight grid step")
    work_dir(p)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("compare", help="every retriever variant side by side on one folder")
    retrieval(p)
    p.add_argument("--queries", type=Path, required=True)
    p.add_argument(
        "--train",
        action="store_true",
        help="train the in-domain model on this folder first (cached in --work-dir)",
    )
    work_dir(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("holdout", help="cross-category holdout of every variant")
    retrieval(p)
    p.add_argument("--queries", type=Path, required=True)
    work_dir(p)
    p.set_defaults(func=cmd_holdout)

    p = sub.add_parser("train-model", help="train the static embedding model on a FAQ folder")
    p.add_argument("--faq-dir", type=Path, default=DEMO_FAQ)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--tokens", choices=("char", "bpe"), default="char")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FAQError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 1
