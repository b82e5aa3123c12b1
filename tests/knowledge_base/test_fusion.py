"""Fusion of the signals, the bands, the one decision, and the language preference."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import Band, KBConfig, KnowledgeBase
from knowledge_base.bands import decide
from knowledge_base.config import SIGNALS, parse_weights
from knowledge_base.entry import Hit
from knowledge_base.index import fuse, relative
from knowledge_base.text import char_tokens, query_language
from knowledge_base.variants import hit_rates

TWIN = """\
- id: zh-report-repair
  question: 怎么申请上门维修？
  alternates:
  - 如何预约师傅上门修
  answer: 拨打 400-820-1234 或在公众号里报修。
"""


@pytest.fixture
def kb(faq_dir: Path, config: KBConfig) -> KnowledgeBase:
    return KnowledgeBase(faq_dir, config)


def test_every_signal_is_built_and_the_score_is_their_weighted_sum(
    faq_dir: Path, config: KBConfig
) -> None:
    every = config.with_weights({name: 1.0 for name in SIGNALS})
    kb = KnowledgeBase(faq_dir, replace(every, fusion="sum"))
    weights = kb.config.weights()
    assert set(weights) == set(SIGNALS) and abs(sum(weights.values()) - 1) < 1e-9
    for hit in kb.search("洗衣机的水排不出去，屏幕上有个E21", k=5):
        assert set(hit.parts) == set(SIGNALS)
        assert all(0.0 <= v <= 1.0 for v in hit.parts.values())
        fused = sum(weights[name] * hit.parts[name] for name in SIGNALS)
        assert hit.score == pytest.approx(fused, abs=1e-3)


def test_relative_fusion_keeps_the_top_score_absolute_and_scores_fall(
    faq_dir: Path, config: KBConfig
) -> None:
    every = replace(config.with_weights({name: 1.0 for name in SIGNALS}), fusion="relative")
    kb = KnowledgeBase(faq_dir, every)
    weights = kb.config.weights()
    hits = kb.search("洗衣机的水排不出去，屏幕上有个E21", k=5)
    top = sum(weights[name] * hits[0].parts[name] for name in SIGNALS)
    assert hits[0].id == "wm-e21" and hits[0].score == pytest.approx(top, abs=1e-3)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(s >= 0 for s in scores)
    # Out of scope stays low: the top score is a weighted sum, not a share of the best.
    assert kb.decide("帮我订一张去上海的机票").band is Band.NONE


def test_relative_fusion_lets_a_clear_preference_beat_a_flat_signal() -> None:
    # Signal 0 scores both entries high (as the gist's cosines do); signal 1 clearly
    # prefers entry 1. By the weighted sum entry 0 wins by 0.01; by relative scores entry 1.
    matrix = np.array([[0.95, 0.20], [0.80, 0.40]])
    weights, ids = np.array([0.6, 0.4]), np.array([0, 1])
    order, scores = fuse(matrix, weights, ids, "sum")
    assert list(order) == [0, 1] and scores == pytest.approx([0.65, 0.64])
    order, scores = fuse(matrix, weights, ids, "relative")
    assert list(order) == [1, 0]
    assert scores[1] == pytest.approx(0.64)  # the top keeps its weighted sum
    assert scores[0] == pytest.approx(0.64 * 0.8 / (0.8 * 0.6 / 0.95 + 0.4))


def test_relative_scores_ties_and_empty_signals() -> None:
    # A signal that found nothing stays 0 (no division by zero); ties go by entry order.
    matrix = np.array([[0.5, 0.0], [0.5, 0.0], [0.25, 0.0]])
    assert relative(matrix).tolist() == [[1.0, 0.0], [1.0, 0.0], [0.5, 0.0]]
    order, scores = fuse(matrix, np.array([0.5, 0.5]), np.array([7, 3, 9]), "relative")
    assert list(order) == [1, 0, 2] and scores.tolist() == [0.25, 0.25, 0.125]
    order, scores = fuse(np.zeros((0, 2)), np.array([0.5, 0.5]), np.zeros(0, int), "relative")
    assert order.size == 0 and scores.size == 0


def test_choosing_weights_ranks_as_search_fuses() -> None:
    matrix = np.array([[0.95, 0.20], [0.80, 0.40]])
    table = [(np.hstack([matrix, np.zeros((2, 3))]), np.array([0, 1]), 1)]
    grid = [dict.fromkeys(SIGNALS, 0.0) | {SIGNALS[0]: 0.6, SIGNALS[1]: 0.4}]
    # hit@1 + MRR/100: entry 1 is first by relative scores, second by the weighted sum
    assert hit_rates([table], grid, "relative")[0] == pytest.approx(1.01)
    assert hit_rates([table], grid, "sum")[0] == pytest.approx(0.005)


def test_an_unknown_fusion_is_refused() -> None:
    with pytest.raises(ValueError, match="fusion must be one of"):
        KBConfig(fusion="max")


def test_a_signal_without_weight_is_not_built(faq_dir: Path, config: KBConfig) -> None:
    lexical = KnowledgeBase(faq_dir, config.with_weights({"char": 0.6, "word": 0.4}))
    assert lexical.embedder is None and lexical.general is None
    assert sorted(lexical._state.index.signals) == ["char", "word"]
    assert lexical.search("洗衣机报E21")[0].id == "wm-e21"


@pytest.mark.parametrize("mode", ["general", "domain", "bm25-char", "bm25-jieba"])
def test_each_single_signal_finds_an_exact_wording(
    faq_dir: Path, config: KBConfig, mode: str
) -> None:
    kb = KnowledgeBase(faq_dir, replace(config, mode=mode))
    assert len(kb._state.index.signals) == 1
    assert kb.search("洗衣机排水超时")[0].id == "wm-e21"


def test_fusion_ranks_by_the_weighted_sum_over_one_index(faq_dir: Path, config: KBConfig) -> None:
    every = config.with_weights({name: 1.0 for name in SIGNALS})
    index = KnowledgeBase(faq_dir, every)._state.index
    query = "空调吹出来的风不凉"
    for weights in ({"general": 1.0}, {"char": 0.5, "domain": 0.5}, config.weights()):
        ranked = index.search(query, k=10, weights=weights)
        scores = [c.score for c in ranked]
        assert scores == sorted(scores, reverse=True)
        ids, parts, _ = index.signal_scores(query, weights=weights)
        matrix = np.stack([parts[name] for name in weights], axis=1)
        key = relative(matrix) @ np.asarray(list(weights.values()))
        assert ranked[0].entry.id == index.entries[int(ids[int(np.argmax(key))])].id


def test_char_tokens_are_characters_bigrams_and_words() -> None:
    assert char_tokens("空调E4") == ["空", "调", "#空调", "e4"]
    assert "#排水" in char_tokens("洗衣机排水超时")


# ---------------------------------------------------------------- bands and the decision


def _hit(name: str, score: float, band: Band) -> Hit:
    return Hit(id=name, question=name, answer="", score=score, band=band, category="c")


def test_decision_answer_guess_suggest_none() -> None:
    a, s, n = Band.ANSWER, Band.SUGGEST, Band.NONE
    answer = decide([_hit("x", 0.9, a), _hit("y", 0.5, s)])
    assert (answer.band, answer.answer.id, answer.guess) == (a, "x", False)  # type: ignore[union-attr]
    guess = decide([_hit("x", 0.45, s), _hit("y", 0.2, n), _hit("z", 0.1, n)])
    assert (guess.band, guess.answer.id, guess.guess) == (a, "x", True)  # type: ignore[union-attr]
    suggest = decide(
        [_hit("x", 0.45, s), _hit("y", 0.44, s), _hit("z", 0.43, s), _hit("w", 0.42, s)]
    )
    assert suggest.band is s and [h.id for h in suggest.suggestions] == ["x", "y", "z"]
    assert decide([_hit("x", 0.1, n)]).band is n
    assert decide([]).band is n and decide([]).answer is None


def test_bands_come_from_the_thresholds(faq_dir: Path, config: KBConfig) -> None:
    strict = KnowledgeBase(faq_dir, replace(config, answer_threshold=1.01, suggest_threshold=1.0))
    assert all(h.band is Band.NONE for h in strict.search("如何查询工单进度？"))
    assert strict.decide("如何查询工单进度？").band is Band.NONE
    lenient = KnowledgeBase(
        faq_dir, replace(config, answer_threshold=0.0, suggest_threshold=0.0, answer_margin=0.0)
    )
    assert lenient.decide("今天股票行情怎么样").band is Band.ANSWER


def test_the_decision_does_not_depend_on_k(kb: KnowledgeBase) -> None:
    for query in ("如何查询工单进度？", "洗衣机有问题", "空调", "今天股票行情怎么样", "保修"):
        bands = {kb.decide(query, k=k).band for k in (2, 3, 5, 10)}
        assert len(bands) == 1, (query, bands)


def test_exact_question_is_answered_and_out_of_scope_is_not(kb: KnowledgeBase) -> None:
    exact = kb.decide("如何查询工单进度？")
    assert (
        exact.band is Band.ANSWER and exact.answer and exact.answer.id == "service-order-progress"
    )
    assert kb.decide("帮我订一张去上海的机票").band is Band.NONE


# ---------------------------------------------------------------- language


def test_query_language() -> None:
    assert query_language("洗衣机 E21 怎么办") == "zh"
    assert query_language("how do I book a repair") == "en"
    assert query_language("E21") is None and query_language("WM-100") is None


def test_each_language_ranks_its_own_entries_first(faq_dir: Path, config: KBConfig) -> None:
    (faq_dir / "twin.yaml").write_text(TWIN, encoding="utf-8")
    kb = KnowledgeBase(faq_dir, config)
    zh = kb.search("怎么找师傅上门维修", k=6)
    en = kb.search("how do I get a technician to repair it", k=6)
    assert zh[0].id == "zh-report-repair"
    assert en[0].id == "en-report-repair"
    for hits, lang in ((zh, "zh"), (en, "en")):
        langs = [h.lang for h in hits]
        # every hit in the question's language comes before every hit in the other one
        assert langs == sorted(langs, key=lambda x: x != lang), langs


def test_the_other_language_answers_when_only_it_can(faq_dir: Path, config: KBConfig) -> None:
    query = "预约 technician 上门 how to book a technician"
    plain = KnowledgeBase(faq_dir, replace(config, prefer_language=False)).search(query, k=6)
    assert plain[0].lang == "en"  # by score alone the English entry is the best match
    # No Chinese entry is good enough to suggest: the English answer keeps its place.
    unsure = replace(config, suggest_threshold=0.99, answer_threshold=0.99)
    kept = KnowledgeBase(faq_dir, unsure).search(query, k=6)
    assert [h.id for h in kept] == [h.id for h in plain]
    # A Chinese entry good enough to suggest goes above it.
    sure = replace(config, suggest_threshold=0.0, answer_threshold=0.0)
    moved = KnowledgeBase(faq_dir, sure).search(query, k=6)
    assert moved[0].lang == "zh" and {h.id for h in moved} == {h.id for h in plain}


def test_weights_are_read_from_text_and_bad_text_is_refused() -> None:
    assert parse_weights("gist=0.5, char=0.5") == {"gist": 0.5, "char": 0.5}
    for bad, said in [
        ("gist=0.5,bert=0.5", "unknown signal 'bert'"),
        ("gist", "unknown signal 'gist'"),
        ("gist=half", "not a number"),
        ("gist=-1,char=1", "must not be negative"),
        ("gist=0,char=0", "at least one"),
    ]:
        with pytest.raises(ValueError, match=said):
            parse_weights(bad)
