"""Turns fused scores into bands: answer directly, suggest several, or admit there is nothing."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge_base.config import KBConfig
from knowledge_base.entry import Band, Hit
from knowledge_base.index import Candidate


def band_for(rank: int, score: float, runner_up: float | None, config: KBConfig) -> Band:
    """Only the top hit can be an answer, and only if it clearly beats the runner-up."""
    margin_ok = runner_up is None or score - runner_up >= config.answer_margin
    if rank == 0 and score >= config.answer_threshold and margin_ok:
        return Band.ANSWER
    if score >= config.suggest_threshold:
        return Band.SUGGEST
    return Band.NONE


def to_hits(candidates: Sequence[Candidate], config: KBConfig) -> list[Hit]:
    """Candidates (best first) as public hits with their bands."""
    runner_up = candidates[1].score if len(candidates) > 1 else None
    return [
        Hit(
            id=c.entry.id,
            question=c.entry.question,
            answer=c.entry.answer,
            score=c.score,
            band=band_for(rank, c.score, runner_up, config),
            category=c.entry.category,
            matched=c.matched,
            products=c.entry.products,
        )
        for rank, c in enumerate(candidates)
    ]
