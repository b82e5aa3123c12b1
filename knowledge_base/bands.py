"""Scores into bands (answer directly, suggest several, nothing fits), and the one decision
every caller takes from them: the editors' 试一试, the search API and, through it, the bot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from knowledge_base.config import KBConfig
from knowledge_base.entry import Band, Hit
from knowledge_base.index import Candidate

MAX_SUGGESTIONS = 3


def band_for(rank: int, score: float, runner_up: float | None, config: KBConfig) -> Band:
    """Only the top hit can be an answer, and only if it clearly beats the runner-up."""
    margin_ok = runner_up is None or score - runner_up >= config.answer_margin
    if rank == 0 and score >= config.answer_threshold and margin_ok:
        return Band.ANSWER
    if score >= config.suggest_threshold:
        return Band.SUGGEST
    return Band.NONE


def _runner_up(candidates: Sequence[Candidate]) -> float | None:
    """The best score among the other hits in the top hit's language.

    The same question in the other language is not a rival answer: a Chinese customer is
    not left undecided between 空调不制冷 and its English twin.
    """
    if not candidates:
        return None
    lang = candidates[0].entry.lang
    rivals = [c.score for c in candidates[1:] if c.entry.lang == lang]
    return max(rivals) if rivals else None


def to_hits(candidates: Sequence[Candidate], config: KBConfig) -> list[Hit]:
    """Candidates (best first) as public hits with their bands."""
    runner_up = _runner_up(candidates)
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
            lang=c.entry.lang,
            parts=dict(c.parts),
        )
        for rank, c in enumerate(candidates)
    ]


@dataclass(frozen=True)
class Decision:
    """What to do with a question.

    ANSWER: give `answer` (the top hit). `guess` is True when the top hit is only good enough
    to suggest but nothing else is: it is given naming its question (您问的可能是「…」).
    SUGGEST: offer `suggestions` (two or more) to choose from. NONE: nothing fits.
    """

    band: Band
    hits: list[Hit] = field(default_factory=list)
    answer: Hit | None = None
    guess: bool = False
    suggestions: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "band": self.band.value,
            "answer_id": self.answer.id if self.answer else None,
            "guess": self.guess,
            "suggestions": [h.id for h in self.suggestions],
        }


def decide(hits: Sequence[Hit], max_suggestions: int = MAX_SUGGESTIONS) -> Decision:
    """The one decision for a ranked list of hits (best first, banded by `to_hits`)."""
    hits = list(hits)
    if hits and hits[0].band is Band.ANSWER:
        return Decision(Band.ANSWER, hits, answer=hits[0])
    good = [h for h in hits if h.band is Band.SUGGEST]
    # Bands fall with the rank, so the top two hits settle it whatever k was asked for.
    if good and good[0] is hits[0] and (len(hits) == 1 or hits[1].band is Band.NONE):
        return Decision(Band.ANSWER, hits, answer=hits[0], guess=True)
    if good:
        return Decision(Band.SUGGEST, hits, suggestions=good[:max_suggestions])
    return Decision(Band.NONE, hits)
