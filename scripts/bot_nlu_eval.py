#!/usr/bin/env python3
"""Evaluate a trained Rasa model on the held-out NLU set (bot/tests/nlu_holdout.yml).

Prints intent accuracy, macro-F1, the fallback rate, entity accuracy and the top confusion
pairs. Runs in the bot's environment (it imports rasa); the figures go to BENCHMARKS.md.
It refuses to run if a held-out message is also a training example.

    .venv-bot/bin/python scripts/bot_nlu_eval.py --model "$(python3 scripts/bot_model.py)"
    make bench-nlu
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOLDOUT = REPO / "bot" / "tests" / "nlu_holdout.yml"
TRAINING = REPO / "bot" / "data" / "nlu"
FALLBACK = "nlu_fallback"
# [text](entity) and [text]{"entity": ..., "value": ...} annotations.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\(([^)]+)\)|\{([^}]+)\})")


def _examples(path: Path) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(intent, plain text, [(entity, text)]) for each example in one NLU YAML file."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for item in data.get("nlu") or []:
        if "intent" not in item:
            continue
        for line in str(item.get("examples") or "").splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            raw = line[2:].strip()
            entities = [(m.group(2) or "", m.group(1)) for m in _ANNOTATION.finditer(raw)]
            text = _ANNOTATION.sub(lambda m: m.group(1), raw)
            out.append((str(item["intent"]), text, entities))
    return out


def load_holdout() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The held-out examples, after checking none of them is used for training."""
    held = _examples(HOLDOUT)
    trained = {text for path in sorted(TRAINING.glob("*.yml")) for _, text, _ in _examples(path)}
    leaked = sorted({text for _, text, _ in held if text in trained})
    if leaked:
        raise SystemExit(f"bot_nlu_eval: held-out messages also in training data: {leaked}")
    return held


def macro_f1(
    pairs: list[tuple[str, str]],
) -> tuple[float, dict[str, tuple[float, float, float, int]]]:
    """Macro-averaged F1 over the gold intents; per intent (precision, recall, F1, support)."""
    labels = sorted({gold for gold, _ in pairs})
    per: dict[str, tuple[float, float, float, int]] = {}
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = (precision, recall, f1, tp + fn)
    return sum(v[2] for v in per.values()) / len(per), per


async def _parse_all(model: str, texts: list[str]) -> list[dict[str, Any]]:
    import structlog
    from rasa.core.agent import Agent

    # Rasa logs every parse through structlog at debug level unless told otherwise.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    agent = Agent.load(model)
    return [await agent.parse_message(text) for text in texts]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="path of the trained model (.tar.gz)")
    parser.add_argument("--top", type=int, default=10, help="confusion pairs to show")
    parser.add_argument("--errors", action="store_true", help="list every misclassified message")
    args = parser.parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.disable(logging.WARNING)

    held = load_holdout()
    print(
        f"bot_nlu_eval: {len(held)} held-out messages, {len({i for i, _, _ in held})} intents",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    parsed = asyncio.run(_parse_all(args.model, [text for _, text, _ in held]))
    elapsed = time.monotonic() - started

    pairs = [(gold, p["intent"]["name"]) for (gold, _, _), p in zip(held, parsed, strict=True)]
    # The classifier's own best intent, before FallbackClassifier replaces it.
    raw = [
        (
            gold,
            next(
                (r["name"] for r in p.get("intent_ranking") or [] if r["name"] != FALLBACK),
                p["intent"]["name"],
            ),
        )
        for (gold, _, _), p in zip(held, parsed, strict=True)
    ]
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    raw_accuracy = sum(g == p for g, p in raw) / len(raw)
    fallback_rate = sum(p == FALLBACK for _, p in pairs) / len(pairs)
    f1, per = macro_f1(pairs)
    raw_f1, _ = macro_f1(raw)

    annotated = [(e, p) for (_, _, e), p in zip(held, parsed, strict=True) if e]
    # Compared on the words as typed: synonyms (冰柜 -> 冰箱) map the value, not the span.
    entity_hits = sum(
        sorted(e) == sorted((x["entity"], p["text"][x["start"] : x["end"]]) for x in p["entities"])
        for e, p in annotated
    )

    print(f"messages            {len(pairs)}")
    print(f"intent accuracy     {accuracy:.3f}   (nlu_fallback counted as wrong)")
    print(f"macro-F1            {f1:.3f}")
    print(f"fallback rate       {fallback_rate:.3f}")
    print(f"top-intent accuracy {raw_accuracy:.3f}   macro-F1 {raw_f1:.3f}   (before the fallback)")
    print(f"entity exact match  {entity_hits}/{len(annotated)} annotated messages")
    print(f"parse time          {1000 * elapsed / len(pairs):.1f} ms/message")
    print("\nper intent          precision recall  f1     n")
    for label, (p, r, f, n) in sorted(per.items(), key=lambda kv: kv[1][2]):
        print(f"  {label:<18}{p:>8.2f}{r:>8.2f}{f:>7.2f}{n:>5}")
    confusions = Counter((g, p) for g, p in pairs if g != p)
    print("\ntop confusion pairs (gold -> predicted)")
    for (gold, predicted), count in confusions.most_common(args.top):
        print(f"  {count:>3}  {gold} -> {predicted}")
    if args.errors:
        print("\nmisclassified")
        for (gold, text, _), (_, predicted) in zip(held, pairs, strict=True):
            if gold != predicted:
                print(f"  {gold:<18} -> {predicted:<18} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
