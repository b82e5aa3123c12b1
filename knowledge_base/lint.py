"""Checks a FAQ folder: schema errors, duplicate ids, empty answers, near-duplicate questions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from knowledge_base.entry import Entry, Issue
from knowledge_base.index import entry_texts
from knowledge_base.loader import load_dir
from knowledge_base.text import EN_STOP, RUN_RE, normalize

NEAR_DUPLICATE = 0.8
_CODE = re.compile(r"[a-z]*-?\d[a-z0-9-]*")


def codes(text: str) -> frozenset[str]:
    """Fault and model codes (E21, WM-100): questions that differ in one are different questions."""
    return frozenset(_CODE.findall(normalize(text)))


def shingles(text: str) -> frozenset[str]:
    """Character bigrams of Han runs and whole ASCII words: a cheap, language-neutral print."""
    grams: set[str] = set()
    for match in RUN_RE.finditer(normalize(text)):
        run = match.group(0)
        if run.isascii():
            if run not in EN_STOP:
                grams.add(run)
        elif len(run) == 1:
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def near_duplicates(entries: Sequence[Entry], threshold: float = NEAR_DUPLICATE) -> list[Issue]:
    """Wordings of different entries that are the same (error) or nearly so (warning)."""
    wordings: list[tuple[int, str, frozenset[str]]] = []
    for i, entry in enumerate(entries):
        wordings.extend((i, text, shingles(text)) for text in entry_texts(entry))
    postings: dict[str, list[int]] = defaultdict(list)
    for w, (_, _, grams) in enumerate(wordings):
        for gram in grams:
            postings[gram].append(w)
    reported: set[tuple[int, int]] = set()
    issues: list[Issue] = []
    for w, (owner, text, grams) in enumerate(wordings):
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for other in postings[gram]:
                if other > w and wordings[other][0] != owner:
                    shared[other] += 1
        for other, count in shared.items():
            other_owner, other_text, other_grams = wordings[other]
            similarity = 2 * count / (len(grams) + len(other_grams))  # Dice
            pair = (min(owner, other_owner), max(owner, other_owner))
            same = normalize(text) == normalize(other_text)
            if not same and codes(text) != codes(other_text):
                continue
            if (similarity < threshold and not same) or pair in reported:
                continue
            reported.add(pair)
            first, second = entries[pair[0]], entries[pair[1]]
            kind = "duplicate" if same else f"near-duplicate ({similarity:.2f})"
            issues.append(
                Issue(
                    second.source,
                    second.line,
                    f"{kind} question: {second.id!r} {other_text if owner == pair[0] else text!r} "
                    f"vs {first.id!r} at {first.source}:{first.line}",
                    severity="error" if same else "warning",
                    entry_id=second.id,
                )
            )
    return issues


def lint_dir(faq_dir: Path | str, threshold: float = NEAR_DUPLICATE) -> list[Issue]:
    """Every issue in a folder, errors first, then by file and line."""
    result = load_dir(faq_dir)
    issues = result.issues + near_duplicates(result.entries, threshold)
    return sorted(issues, key=lambda i: (i.severity != "error", i.path, i.line or 0))
