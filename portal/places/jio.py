"""jionlp, imported once and quietly, called one caller at a time.

jionlp (rule based, offline, pinned in pyproject.toml) costs about a second to import and
prints a banner to stdout on import, which would end up in the output of CLI commands that
print JSON: it is imported on first use. Its readers keep the state of the call in progress
on shared objects (the location parser writes match counts into its table, the time parser
its time base), so two request threads must never be inside it at once: every call goes
through the functions here, under one lock. Calls take milliseconds.
"""

from __future__ import annotations

import contextlib
import io
import threading
from functools import cache
from types import ModuleType
from typing import Any

_loading = threading.Lock()
_calling = threading.Lock()


@cache
def _module() -> ModuleType:
    with _loading, contextlib.redirect_stdout(io.StringIO()):
        import jionlp

        # Both readers build their tables on their first call: do it here, under the lock.
        jionlp.parse_location("上海市")
        jionlp.ner.extract_time("明天", time_base=0)
    return jionlp


def parse_location(text: str) -> dict[str, Any]:
    """jionlp's reading of an address: province, city, county, detail (None where none)."""
    module = _module()
    with _calling:
        result: dict[str, Any] = module.parse_location(text, town_village=False, change2new=True)
    return result


def time_candidates(text: str) -> list[dict[str, Any]]:
    """The stretches of text jionlp's time extractor would read, with their offsets."""
    module = _module()
    with _calling:
        found: list[dict[str, Any]] = module.ner.extract_time.extract_time_candidates(text)
    return found


def extract_time(text: str, *, time_base: float) -> list[dict[str, Any]]:
    """The time expressions jionlp finds in the text, read relative to `time_base`."""
    module = _module()
    with _calling:
        found: list[dict[str, Any]] = module.ner.extract_time(
            text, time_base=time_base, with_parsing=True
        )
    return found


@cache
def china_locations() -> dict[str, Any]:
    """jionlp's table of provinces, their cities and counties, with aliases (read only)."""
    _module()
    from jionlp.dictionary.dictionary_loader import china_location_loader

    table: dict[str, Any] = china_location_loader()
    return table


def pinyin(text: str) -> list[str]:
    """The pinyin of each character of the text, without tones ("空调" → ["kong", "tiao"])."""
    module = _module()
    with _calling:
        found: list[str] = module.pinyin(text, formater="simple")
    return [syllable.rstrip("012345") for syllable in found]
