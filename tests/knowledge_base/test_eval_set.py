"""The demo eval set: big enough, every label exists, and kept apart from the training text."""

from __future__ import annotations

from knowledge_base.cli import DEMO_FAQ
from knowledge_base.evaluate import read_queries
from knowledge_base.index import entry_texts
from knowledge_base.loader import load_dir
from knowledge_base.text import normalize

EVAL = DEMO_FAQ.parent / "eval"


def test_eval_queries_point_to_existing_entries_and_are_not_training_text() -> None:
    entries = load_dir(DEMO_FAQ).entries
    ids = {e.id for e in entries}
    wordings = {normalize(t) for e in entries for t in entry_texts(e)}
    for name, minimum in (("queries.jsonl", 300), ("dev.jsonl", 100)):
        queries = read_queries(EVAL / name)
        assert len(queries) >= minimum
        assert {q.expected for q in queries} <= ids
        assert not [q.query for q in queries if normalize(q.query) in wordings]
    test = {normalize(q.query) for q in read_queries(EVAL / "queries.jsonl")}
    assert not test & {normalize(q.query) for q in read_queries(EVAL / "dev.jsonl")}
    negatives = read_queries(EVAL / "negatives.jsonl", allow_none=True)
    assert negatives and all(q.expected is None for q in negatives)
