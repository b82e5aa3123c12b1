"""Request and response shapes of the knowledge-base API (/api/v1/kb)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from knowledge_base import Hit

Band = Literal["answer", "suggest", "none"]


class KbHitRead(BaseModel):
    """One FAQ entry found for a question, with its score and band."""

    id: str
    question: str
    answer: str = Field(description="Markdown")
    score: float
    band: Band
    category: str
    matched: str = Field(description="The wording (question or alternate) that matched best.")
    products: list[str]

    @classmethod
    def from_hit(cls, hit: Hit) -> KbHitRead:
        """The library's hit as JSON."""
        return cls.model_validate(hit.to_dict())


class KbSearchRead(BaseModel):
    """The overall band (the top hit's) and the hits, best first."""

    query: str
    band: Band
    results: list[KbHitRead]


class KbFeedbackCreate(BaseModel):
    """Whether an answer helped the customer who got it."""

    entry_id: str = Field(min_length=1, max_length=128)
    helpful: bool
    query: str = Field(default="", max_length=500)
    conversation_id: str = Field(default="", max_length=64)


class KbFeedbackRead(BaseModel):
    """The entry's feedback counts, including the one just recorded."""

    entry_id: str
    helpful: int
    not_helpful: int
