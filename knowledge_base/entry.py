"""Plain data shapes shared by the loader, the index and the public API."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Band(StrEnum):
    """How confident a hit is: answer directly, offer as a suggestion, or nothing good enough."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    NONE = "none"


@dataclass(frozen=True)
class Entry:
    """One FAQ entry as loaded from a YAML file."""

    id: str
    question: str
    answer: str
    alternates: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    lang: str = "zh"
    category: str = ""
    source: str = ""  # path of the YAML file, relative to the FAQ folder
    line: int = 0  # 1-based line where the entry starts

    def to_dict(self) -> dict[str, object]:
        """The editable fields, in file order, as written back to YAML."""
        data: dict[str, object] = {"id": self.id, "question": self.question}
        if self.alternates:
            data["alternates"] = list(self.alternates)
        if self.tags:
            data["tags"] = list(self.tags)
        if self.products:
            data["products"] = list(self.products)
        if self.lang != "zh":
            data["lang"] = self.lang
        data["answer"] = self.answer
        return data


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: str
    question: str
    answer: str
    score: float
    band: Band
    category: str
    matched: str = ""  # the question or alternate that matched best (dense side)
    products: tuple[str, ...] = ()
    lang: str = "zh"
    parts: dict[str, float] = field(default_factory=dict)  # each signal's score, before fusion

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "score": round(self.score, 4),
            "band": self.band.value,
            "category": self.category,
            "matched": self.matched,
            "products": list(self.products),
            "lang": self.lang,
            "parts": dict(self.parts),
        }


@dataclass(frozen=True)
class Issue:
    """A problem found in a FAQ folder, pointing at a file and line."""

    path: str
    line: int | None
    message: str
    severity: str = "error"  # "error" blocks loading; "warning" does not
    entry_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "severity": self.severity,
            "entry_id": self.entry_id,
        }


@dataclass
class BuildStats:
    """What an index build did; `embedded` counts texts that missed the cache."""

    entries: int = 0
    texts: int = 0
    embedded: int = 0
    cached: int = 0
    dense_kind: str = ""
    seconds: float = 0.0
    model_id: str = ""
    extra: dict[str, float] = field(default_factory=dict)


class FAQError(Exception):
    """Raised when a FAQ folder (or an edit to it) has errors; carries the issues."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues[:5]) or "invalid FAQ")
