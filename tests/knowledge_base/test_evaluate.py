"""Metrics and calibration, checked against a search function with known answers."""

from __future__ import annotations

from knowledge_base.entry import Band, Hit
from knowledge_base.evaluate import LabelledQuery, calibrate, evaluate, percentile


def fake_search(table: dict[str, list[tuple[str, float]]]):  # noqa: ANN201
    def search(query: str, k: int) -> list[Hit]:
        return [Hit(i, i, "", s, Band.NONE, "c") for i, s in table.get(query, [])][:k]

    return search


def test_metrics() -> None:
    search = fake_search(
        {
            "a": [("x", 0.9), ("y", 0.5)],
            "b": [("y", 0.6), ("z", 0.5), ("x", 0.4)],
            "c": [("q", 0.3)],
        }
    )
    queries = [LabelledQuery("a", "x"), LabelledQuery("b", "x"), LabelledQuery("c", "x")]
    result = evaluate(search, queries, warmup=0)
    assert result.n == 3
    assert result.hit_at_1 == 1 / 3
    assert result.hit_at_3 == 2 / 3
    assert abs(result.mrr_at_10 - (1 + 1 / 3) / 3) < 1e-9
    assert [m["query"] for m in result.misses] == ["b", "c"]


def test_percentile() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([], 50) == 0.0


def test_calibration_separates_good_from_out_of_scope() -> None:
    table = {f"p{i}": [(f"e{i}", 0.8), ("other", 0.5)] for i in range(10)}
    table |= {"wrong": [("other", 0.55), ("e0", 0.5)]}
    table |= {f"n{i}": [("other", 0.3)] for i in range(5)}
    positives = [LabelledQuery(f"p{i}", f"e{i}") for i in range(10)] + [
        LabelledQuery("wrong", "e0")
    ]
    negatives = [LabelledQuery(f"n{i}", None) for i in range(5)]
    cal = calibrate(fake_search(table), positives, negatives, target_precision=0.95)
    assert 0.55 < cal.answer_threshold <= 0.8
    assert cal.answer_precision == 1.0
    assert 0.3 < cal.suggest_threshold <= 0.55
    assert cal.negatives_rejected == 1.0
