"""The shape of one turn's answer, whatever the bot sent: one to three messages, none twice,
none the same as the message the customer last saw, and no button lost. Pure functions.

The hub (portal.conversations.flows) applies them to the bot's replies plus its own notices,
and answers itself when the bot gave nothing usable (`looped`, or nothing at all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

MAX_REPLIES = 3
# The same text this many times in one turn is the bot going round in circles (Rasa's
# circuit breaker repeats its fallback until it trips, at ten predictions).
LOOP_REPEATS = 3
MAX_PREDICTIONS = 10


@dataclass(frozen=True, slots=True)
class Draft:
    """A message about to be stored and sent."""

    author: str
    text: str = ""
    buttons: tuple[tuple[str, str], ...] = field(default=())  # (title, payload)
    image: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing to show."""
        return not self.text and not self.image and not self.buttons


def from_rasa(replies: Sequence[dict[str, Any]], author: str = "bot") -> list[Draft]:
    """Rasa's REST replies as drafts, the empty ones left out."""
    drafts = []
    for reply in replies:
        raw = reply.get("buttons")
        buttons = tuple(
            (str(b.get("title", "")), str(b.get("payload", "")))
            for b in (raw if isinstance(raw, list) else [])
            if isinstance(b, dict)
        )
        image = reply.get("image")
        draft = Draft(
            author=author,
            text=str(reply.get("text") or ""),
            buttons=buttons,
            image=str(image) if image else None,
        )
        if not draft.empty:
            drafts.append(draft)
    return drafts


def looped(replies: Sequence[dict[str, Any]]) -> bool:
    """Whether the bot went round in circles: one text again and again, or as many replies
    as Rasa makes predictions before its circuit breaker trips."""
    if len(replies) >= MAX_PREDICTIONS:
        return True
    counts = Counter(str(r.get("text") or "") for r in replies)
    counts.pop("", None)
    return any(n >= LOOP_REPEATS for n in counts.values())


def _union(*groups: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Buttons of all groups in order, each payload once."""
    seen: dict[str, tuple[str, str]] = {}
    for group in groups:
        for button in group:
            seen.setdefault(button[1], button)
    return tuple(seen.values())


def dedupe(drafts: Sequence[Draft]) -> tuple[list[Draft], int]:
    """Each text (or, without text, each image) once, a later copy's buttons (and image, if
    the first had none) kept on the first; how many copies were dropped."""
    kept: list[Draft] = []
    where: dict[str, int] = {}
    dropped = 0
    for draft in drafts:
        key = draft.text or (f"\0{draft.image}" if draft.image else "")
        if not key or key not in where:
            if key:
                where[key] = len(kept)
            kept.append(draft)
            continue
        first = kept[where[key]]
        kept[where[key]] = replace(
            first,
            buttons=_union(first.buttons, draft.buttons),
            image=first.image or draft.image,
        )
        dropped += 1
    return kept, dropped


def cap(drafts: Sequence[Draft]) -> tuple[list[Draft], bool]:
    """At most three: the first two as they are, the rest merged into the third (texts one
    per line, every button, the last image); whether anything was merged."""
    if len(drafts) <= MAX_REPLIES:
        return list(drafts), False
    head, rest = list(drafts[: MAX_REPLIES - 1]), drafts[MAX_REPLIES - 1 :]
    images = [d.image for d in rest if d.image]
    merged = Draft(
        author=rest[0].author,
        text="\n".join(d.text for d in rest if d.text),
        buttons=_union(*(d.buttons for d in rest)),
        image=images[-1] if images else None,
    )
    return [*head, merged], True


def vary(
    drafts: Sequence[Draft], *, previous: str | None, lead: Callable[[str], str]
) -> tuple[list[Draft], int]:
    """Reword (with `lead`, e.g. 再确认一下：…) the turn's first message when it is the
    same as the one the customer saw last, rather than drop it: it may be a form's
    question; how many were. A question asked again after something else in the same
    turn (an FAQ answer, 我们接着刚才的登记继续：) does not follow itself and is left as
    it is."""
    if not previous or not drafts or drafts[0].text != previous:
        return list(drafts), 0
    return [replace(drafts[0], text=lead(drafts[0].text)), *drafts[1:]], 1


@dataclass(frozen=True, slots=True)
class Shaped:
    """A turn's messages and what was reworked to get them."""

    drafts: list[Draft]
    duplicates: int = 0
    merged: bool = False
    varied: int = 0


def shape(drafts: Sequence[Draft], *, previous: str | None, lead: Callable[[str], str]) -> Shaped:
    """One turn's messages: empty ones out, each once, at most three, none the same as the
    message before the turn."""
    kept, duplicates = dedupe([d for d in drafts if not d.empty])
    capped, merged = cap(kept)
    varied, changed = vary(capped, previous=previous, lead=lead)
    # A reworded message may now match another one of the turn (再确认一下：… sent as is).
    final, again = dedupe(varied)
    return Shaped(drafts=final, duplicates=duplicates + again, merged=merged, varied=changed)
