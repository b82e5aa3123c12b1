"""Trains the default embedding model: a small static (bag-of-tokens) sentence-transformers model.

It learns from a FAQ folder only: each entry's question and alternates are paraphrases of one
another, and the start of its answer describes the same problem, so a contrastive loss pulls
those together and pushes other entries apart. Synonym swaps and dropped characters stand in
for the way customers actually type. Deterministic for a given seed; takes about ten seconds
on two idle CPU cores. Eval queries are never read here.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from tqdm import tqdm

from knowledge_base.entry import Entry
from knowledge_base.index import entry_texts
from knowledge_base.loader import load_dir
from knowledge_base.text import Synonyms, default_synonyms, normalize

if TYPE_CHECKING:
    import torch

UNK = "[UNK]"
_SENTENCE = re.compile(r"[。！？!?；;\n]+")
_MARKUP = re.compile(r"[#*_`>|]+|^\s*(?:[-+]|\d+\.)\s+", re.MULTILINE)


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters; the defaults are what the shipped model was trained with."""

    dim: int = 256
    vocab_size: int = 6000  # caps ASCII sub-words; every Han character is kept
    # "char": one token per Han character, the default: it generalised better on the dev queries
    # than "bpe" (learned multi-character pieces), and the model is half the size.
    tokens: str = "char"
    steps: int = 1500
    batch_size: int = 64
    lr: float = 0.02
    temperature: float = 0.05
    answer_pairs: float = 0.35  # share of positives taken from the answer, not another wording
    char_drop: float = 0.25  # share of views with a few characters dropped (typos, terse typing)
    seed: int = 0


def answer_snippets(answer: str, limit: int = 4) -> list[str]:
    """The first few sentences of an answer, without Markdown markup."""
    plain = _MARKUP.sub("", answer)
    parts = [p.strip() for p in _SENTENCE.split(plain) if len(p.strip()) >= 4]
    return parts[:limit]


def build_tokenizer(corpus: Sequence[str], settings: TrainSettings) -> Tokenizer:
    """A tokenizer learned from the corpus: NFKC, lower case, Han and ASCII kept apart."""
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    han = r"\p{Han}" if settings.tokens == "char" else r"\p{Han}+"
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"[^\p{Han}a-z0-9\-]+"), behavior="removed"),
            pre_tokenizers.Split(Regex(rf"{han}|[a-z0-9]+(?:-[a-z0-9]+)*"), behavior="isolated"),
        ]
    )
    alphabet = sorted({ch for text in corpus for ch in normalize(text) if not ch.isspace()})
    trainer = trainers.BpeTrainer(
        vocab_size=settings.vocab_size,
        min_frequency=2,
        special_tokens=[UNK],
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return tokenizer


class _Views:
    """Random views of an entry: wordings, answer sentences, synonym swaps, dropped characters."""

    def __init__(
        self, entries: Sequence[Entry], synonyms: Synonyms, settings: TrainSettings
    ) -> None:
        self.wordings = [entry_texts(e) for e in entries]
        self.answers = [answer_snippets(e.answer) or [e.question] for e in entries]
        self.groups: dict[str, list[str]] = {}
        for word, canonical in synonyms.canonical.items():
            self.groups.setdefault(canonical, []).append(word)
        self.synonyms = synonyms
        self.settings = settings

    def _swap(self, text: str, rng: random.Random) -> str:
        norm = normalize(text)
        found = [w for w in self.synonyms.canonical if w in norm]
        if not found:
            return norm
        word = rng.choice(found)
        other = rng.choice(self.groups[self.synonyms.canonical[word]])
        return norm.replace(word, other, 1)

    def _drop(self, text: str, rng: random.Random) -> str:
        chars = list(text)
        for _ in range(max(1, len(chars) // 8)):
            if len(chars) > 4:
                chars.pop(rng.randrange(len(chars)))
        return "".join(chars)

    def view(self, i: int, rng: random.Random, *, allow_answer: bool) -> str:
        if allow_answer and rng.random() < self.settings.answer_pairs:
            text = rng.choice(self.answers[i])
        else:
            text = rng.choice(self.wordings[i])
        if rng.random() < 0.5:
            text = self._swap(text, rng)
        if rng.random() < self.settings.char_drop:
            text = self._drop(text, rng)
        return text


def _encode(tokenizer: Tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    ids = [e.ids or [0] for e in encodings]  # 0 is [UNK], whose vector stays zero
    offsets = torch.tensor(np.cumsum([0] + [len(x) for x in ids[:-1]]), dtype=torch.long)
    flat = torch.tensor([t for x in ids for t in x], dtype=torch.long)
    return flat, offsets


@dataclass
class TrainReport:
    """What a training run produced."""

    entries: int
    vocab: int
    used_tokens: int
    dim: int
    steps: int
    final_loss: float
    seconds: float
    out: str


def train_static_model(
    faq_dir: Path | str,
    out: Path | str,
    settings: TrainSettings | None = None,
    synonyms: Synonyms | None = None,
    progress: bool = True,
    entries: Sequence[Entry] | None = None,
) -> TrainReport:
    """Train on a FAQ folder (or on `entries`, e.g. the folder without one category) and save
    a sentence-transformers model folder at `out`."""
    import torch  # here, not at import: reading TrainSettings must not load torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    settings = settings or TrainSettings()
    synonyms = synonyms or default_synonyms()
    started = time.perf_counter()
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    # One thread: the batches are small, and the machine is shared with search and builds.
    torch.set_num_threads(1)
    rng = random.Random(settings.seed)

    if entries is None:
        result = load_dir(faq_dir)
        if result.errors:
            raise ValueError(f"fix the FAQ folder first: {result.errors[0]}")
        entries = result.entries
    entries = list(entries)
    corpus = [t for e in entries for t in entry_texts(e) + answer_snippets(e.answer, 50)]
    corpus += [w for group in synonyms.canonical for w in (group,)]
    tokenizer = build_tokenizer(corpus, settings)
    vocab = tokenizer.get_vocab_size()
    views = _Views(entries, synonyms, settings)

    bag = torch.nn.EmbeddingBag(vocab, settings.dim, mode="mean")
    torch.nn.init.normal_(bag.weight, std=0.1)
    seen = torch.zeros(vocab, dtype=torch.bool)
    optimizer = torch.optim.Adam(bag.parameters(), lr=settings.lr)
    batch = min(settings.batch_size, len(entries))
    loss_value = 0.0
    bar = tqdm(range(settings.steps), desc="training", unit="step", disable=not progress)
    for _ in bar:
        chosen = rng.sample(range(len(entries)), batch)
        anchors = [views.view(i, rng, allow_answer=False) for i in chosen]
        positives = [views.view(i, rng, allow_answer=True) for i in chosen]
        a_ids, a_off = _encode(tokenizer, anchors)
        p_ids, p_off = _encode(tokenizer, positives)
        seen[a_ids] = True
        seen[p_ids] = True
        a = torch.nn.functional.normalize(bag(a_ids, a_off), dim=-1)
        p = torch.nn.functional.normalize(bag(p_ids, p_off), dim=-1)
        logits = a @ p.T / settings.temperature
        labels = torch.arange(batch)
        loss = (
            torch.nn.functional.cross_entropy(logits, labels)
            + torch.nn.functional.cross_entropy(logits.T, labels)
        ) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        current = float(loss.detach())
        loss_value = 0.98 * loss_value + 0.02 * current if loss_value else current
        bar.set_postfix(loss=f"{loss_value:.3f}")

    weights = bag.weight.detach().clone()
    seen[tokenizer.token_to_id(UNK)] = False
    weights[~seen] = 0.0  # never-trained rows are noise; zero rows drop out of the normalised mean
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)])
    model.save(str(out))
    report = TrainReport(
        entries=len(entries),
        vocab=vocab,
        used_tokens=int(seen.sum()),
        dim=settings.dim,
        steps=settings.steps,
        final_loss=round(loss_value, 4),
        seconds=round(time.perf_counter() - started, 1),
        out=str(out),
    )
    (out / "training.json").write_text(
        json.dumps({"settings": asdict(settings), "report": asdict(report)}, indent=2) + "\n"
    )
    return report
