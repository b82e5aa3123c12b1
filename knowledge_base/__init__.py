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

Retrieval: dense (sentence-transformers + faiss: exact IndexFlatIP up to
`KBConfig.approx_threshold` vectors, IVF above) and lexical (BM25 via bm25s over jieba words,
character bigrams and synonyms), fused as `w * cosine + (1 - w) * normalised BM25`. The default
model `kb-static-zh` is a small static embedding model trained on the demo FAQ and shipped in
`knowledge_base/models/`; `KBConfig(model=...)` also takes `minilm-en`, a local folder or a
sentence-transformers name already in the local Hugging Face cache (nothing is downloaded).
Embeddings are cached in SQLite under `KBConfig.cache_dir`, keyed by sha256(model id + text).

CLI: `python -m knowledge_base {index,search,lint,eval,calibrate,train-model} --help`.
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
