"""Normalisation and lexical tokens: jieba words + character bigrams (Chinese), words (English)."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import jieba

SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN_RE = re.compile(rf"[{_HAN}]+|[a-z0-9]+(?:[-_.][a-z0-9]+)*")
HAN_RE = re.compile(rf"[{_HAN}]")
# Particles and filler that customers type around the real question; they only add noise.
_ZH_STOP_WORDS = (
    "的 了 吗 呢 啊 吧 呀 嘛 哦 噢 哈 么 啦 我 我的 你 你们 您 是 在 有 和 与 就 都 也 还 又 要 "
    "想 会 能 可以 怎么 怎么办 怎样 如何 什么 为什么 为啥 咋 咋办 一下 请问 请 一个 这个 那个 这 "
    "那 该 应该 需要 是不是 有没有 能不能 可不可以 多少 几 不 没 没有 了吗 谢谢 你好 您好"
)
_EN_STOP_WORDS = (
    "a an the is are am be to of in on for my me i you your it its do does did can could how "
    "what why when where which should would will with and or at by this that there please hi "
    "hello from as if not"
)
ZH_STOP = frozenset(_ZH_STOP_WORDS.split())
EN_STOP = frozenset(_EN_STOP_WORDS.split())
_jieba_lock = threading.Lock()


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, squeezed spaces; queries and entries alike."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(text.split())


class Synonyms:
    """Groups of words that mean the same thing here; every word maps to its group's first word."""

    def __init__(self, canonical: dict[str, str]) -> None:
        self.canonical = canonical
        self._han = {w: c for w, c in canonical.items() if not w.isascii()}
        self._ascii = {w: c for w, c in canonical.items() if w.isascii()}
        self._lengths = sorted({len(w) for w in self._han}, reverse=True)  # longest match wins

    @classmethod
    def load(cls, path: Path = SYNONYMS_FILE) -> Synonyms:
        """Read `canonical variant variant ...` lines; `#` starts a comment."""
        mapping: dict[str, str] = {}
        if path.is_file():
            for raw in path.read_text(encoding="utf-8").splitlines():
                words = [normalize(w) for w in raw.split("#", 1)[0].split()]
                for word in words:
                    mapping[word] = words[0]
        return cls(mapping)

    def expand(self, normalized: str) -> list[str]:
        """Canonical words for every group member in already-normalised text.

        Chinese words match anywhere (longest first, without overlaps); English words only
        as whole words, allowing a plural or -ing/-ed ending.
        """
        found: list[str] = []
        for match in RUN_RE.finditer(normalized):
            run = match.group(0)
            if run.isascii():
                for word in re.split(r"[-_.]", run):
                    canonical = self._ascii.get(word) or self._ascii.get(_stem(word))
                    if canonical:
                        found.append(canonical)
                continue
            i = 0
            while i < len(run):
                for length in self._lengths:
                    canonical = self._han.get(run[i : i + length])
                    if canonical:
                        found.append(canonical)
                        i += length
                        break
                else:
                    i += 1
        return found


def _stem(word: str) -> str:
    """Strip one English inflection, enough to match `filters`, `leaking`, `cancelled`."""
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=1)
def default_synonyms() -> Synonyms:
    """The synonyms shipped with the package."""
    return Synonyms.load()


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    """A private jieba tokenizer, so our domain words never leak into other jieba users."""
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for word in {*default_synonyms().canonical, *default_synonyms().canonical.values()}:
        if HAN_RE.search(word) and " " not in word:
            tok.add_word(word, freq=2000)
    return tok


def jieba_words(run: str) -> list[str]:
    """jieba segmentation of one run of Han characters."""
    return list(_jieba_cached(run))


@lru_cache(maxsize=1 << 16)
def _jieba_cached(run: str) -> tuple[str, ...]:
    # FAQ text repeats short runs ("洗衣机", "怎么办") a lot; jieba is the slowest step of a build.
    tok = _tokenizer()
    with _jieba_lock:  # jieba's tokenizer is not safe to share between threads
        return tuple(tok.lcut(run, HMM=False))


def _ascii_tokens(word: str) -> list[str]:
    if word in EN_STOP:
        return []
    tokens = [word]
    parts = re.split(r"[-_.]", word)
    if len(parts) > 1:  # WM-100 is also wm100, wm and 100
        tokens.append("".join(parts))
        tokens.extend(p for p in parts if p)
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        tokens.append(word[:-1])  # plural: filters -> filter
    return tokens


def lexical_tokens(text: str, synonyms: Synonyms | None = None) -> list[str]:
    """Tokens for BM25: jieba words, `#`-marked character bigrams and ASCII words."""
    norm = normalize(text)
    tokens: list[str] = []
    for match in RUN_RE.finditer(norm):
        run = match.group(0)
        if HAN_RE.match(run):
            tokens.extend(w for w in jieba_words(run) if w not in ZH_STOP)
            # Bigrams catch what jieba splits differently and most one-character typos.
            tokens.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.extend(_ascii_tokens(run))
    if synonyms is not None:
        tokens.extend("=" + word for word in synonyms.expand(norm))
    return tokens


def warm_up(texts: Iterable[str] = ("洗衣机",)) -> None:
    """Load jieba's dictionary now rather than on the first query."""
    for text in texts:
        lexical_tokens(text)


def char_tokens(text: str) -> list[str]:
    """Tokens for the character BM25: every Han character and bigram, and ASCII words.

    Needs no dictionary, so it knows nothing about the domain and cannot be fooled by a
    segmentation: the baseline any FAQ gets for free.
    """
    norm = normalize(text)
    tokens: list[str] = []
    for match in RUN_RE.finditer(norm):
        run = match.group(0)
        if HAN_RE.match(run):
            tokens.extend(run)
            tokens.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.extend(_ascii_tokens(run))
    return tokens


_LATIN_WORD = re.compile(r"[a-z]{2,}")


def query_language(text: str) -> str | None:
    """'zh' if the text has Han characters, 'en' if it has English words, else None.

    Fault and model codes (E21, WM-100) belong to no language.
    """
    norm = normalize(text)
    if HAN_RE.search(norm):
        return "zh"
    words = _LATIN_WORD.findall(norm)
    return "en" if len(words) >= 2 or any(len(w) >= 4 for w in words) else None
