"""KnowledgeBase: a FAQ folder with a search index that reloads itself when the files change."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge_base.bands import Decision, decide, to_hits
from knowledge_base.config import KBConfig
from knowledge_base.embedder import Embedder
from knowledge_base.entry import BuildStats, Entry, FAQError, Hit, Issue
from knowledge_base.index import SearchIndex
from knowledge_base.loader import LoadResult, faq_files, load_dir
from knowledge_base.writer import remove_entry, write_entry

Fingerprint = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class _State:
    """Everything one search needs; replaced whole on reload, never changed in place."""

    index: SearchIndex
    by_id: dict[str, Entry]
    fingerprint: Fingerprint
    warnings: list[Issue] = field(default_factory=list)


class KnowledgeBase:
    """Search and edit one FAQ folder; safe to share between threads."""

    def __init__(
        self,
        faq_dir: Path | str,
        config: KBConfig | None = None,
        *,
        strict: bool = True,
        progress: bool = False,
        embedder: Embedder | None = None,
        general: Embedder | None = None,
    ) -> None:
        """Load and index the folder; with strict=False broken files are skipped and reported.

        `embedder` (the in-domain model) and `general` (e5) may be shared between knowledge
        bases; each is made here only if a signal with a weight needs it.
        """
        self.faq_dir = Path(faq_dir)
        self.config = config or KBConfig.from_env()
        self.progress = progress
        weights = self.config.weights()
        if embedder is None and "domain" in weights:
            embedder = Embedder(self.config.model, self.config.cache_dir, self.config.batch_size)
        if general is None and "general" in weights:
            general = Embedder(
                self.config.general_model, self.config.cache_dir, self.config.batch_size
            )
        self.embedder = embedder
        self.general = general
        self.errors: list[Issue] = []
        self._reload_lock = threading.Lock()
        self._failed: Fingerprint | None = None
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        fingerprint = self.fingerprint()
        result = load_dir(self.faq_dir)
        if result.errors:
            if strict:
                raise FAQError(result.errors)
            self.errors = result.errors
            self._failed = fingerprint
            result = _without_broken(result)
        self._state = self._build(result, fingerprint)

    # -- reading -------------------------------------------------------------

    @property
    def last_error(self) -> Issue | None:
        """The first error of the last failed load (file and line), or None if it loaded."""
        return self.errors[0] if self.errors else None

    @property
    def warnings(self) -> list[Issue]:
        """Non-blocking issues of the loaded folder (today: none are produced while loading)."""
        return list(self._state.warnings)

    @property
    def stats(self) -> BuildStats:
        """What the last successful index build did."""
        return self._state.index.stats

    def search(self, query: str, k: int = 5, product: str | None = None) -> list[Hit]:
        """The k best entries for a customer's question, each with a score and a band."""
        state = self._state  # one read, so a concurrent swap cannot mix two indexes
        return to_hits(state.index.search(query, k=k, product=product), self.config)

    def decide(self, query: str, k: int = 5, product: str | None = None) -> Decision:
        """Search and decide: answer (which entry), suggest (which ones) or nothing."""
        return decide(self.search(query, k=k, product=product))

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return self._state.by_id.get(entry_id)

    def entries(self, category: str | None = None) -> list[Entry]:
        """All entries in file order, optionally only one category (folder)."""
        entries = self._state.index.entries
        return [e for e in entries if category is None or e.category == category]

    def categories(self) -> list[str]:
        """Category names (folder paths relative to the FAQ folder), sorted."""
        return sorted({e.category for e in self._state.index.entries})

    # -- reloading -----------------------------------------------------------

    def fingerprint(self) -> Fingerprint:
        """Path, size, mtime and inode of every FAQ file: cheap to poll."""
        prints = []
        for path in faq_files(self.faq_dir) if self.faq_dir.is_dir() else []:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            prints.append(
                (path.relative_to(self.faq_dir).as_posix(), st.st_size, st.st_mtime_ns, st.st_ino)
            )
        return tuple(prints)

    def check_for_changes(self) -> bool:
        """Reload if any file changed since the last attempt; True if a new index was swapped in."""
        fingerprint = self.fingerprint()
        if fingerprint in (self._state.fingerprint, self._failed):
            return False
        return self.reload(fingerprint)

    def reload(self, fingerprint: Fingerprint | None = None) -> bool:
        """Load and index the folder beside the current index, then swap; on errors keep the old."""
        with self._reload_lock:
            fingerprint = fingerprint or self.fingerprint()
            result = load_dir(self.faq_dir)
            if result.errors:
                self.errors = result.errors
                self._failed = fingerprint
                return False
            try:
                state = self._build(result, fingerprint)
            except Exception as exc:  # a model or disk failure must not take search down either
                self.errors = [Issue(str(self.faq_dir), None, f"index build failed: {exc}")]
                self._failed = fingerprint
                return False
            self._state = state
            self.errors = []
            self._failed = None
            return True

    def _build(self, result: LoadResult, fingerprint: Fingerprint) -> _State:
        index = SearchIndex(
            result.entries, self.config, self.embedder, progress=self.progress, general=self.general
        )
        warnings = [i for i in result.issues if i.severity != "error"]
        return _State(index, {e.id: e for e in result.entries}, fingerprint, warnings)

    def watch(self, interval: float = 2.0) -> None:
        """Poll for changes in a background thread until stop_watching()."""
        if self._watcher and self._watcher.is_alive():
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                self.check_for_changes()

        self._watcher = threading.Thread(target=loop, name="kb-watch", daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        """Stop the background poll started by watch()."""
        self._stop.set()
        if self._watcher:
            self._watcher.join(timeout=10)
        self._watcher = None

    # -- writing -------------------------------------------------------------

    def save_entry(self, entry: Entry | Mapping[str, Any], *, path: str | None = None) -> Entry:
        """Validate and write an edited entry (by id) or a new one (into `path`), then reload.

        Raises FAQError with file and line if the entry is invalid or its id is taken.
        """
        fields = entry.to_dict() if isinstance(entry, Entry) else dict(entry)
        existing = self.get(str(fields.get("id", "")))
        if existing is not None and path and path != existing.source:
            raise FAQError(
                [Issue(path, None, f"id {existing.id!r} already lives in {existing.source}")]
            )
        written = write_entry(
            self.faq_dir, fields, existing=existing, others=self.entries(), path=path
        )
        self.reload()
        return self.get(written.id) or written

    def rename_or_edit(self, entry_id: str, entry: Entry | Mapping[str, Any]) -> Entry:
        """Edit the entry currently called `entry_id`, possibly giving it a new id."""
        existing = self.get(entry_id)
        if existing is None:
            raise FAQError([Issue("", None, f"no entry with id {entry_id!r}")])
        written = write_entry(self.faq_dir, entry, existing=existing, others=self.entries())
        self.reload()
        return self.get(written.id) or written

    def delete_entry(self, entry_id: str) -> None:
        """Remove an entry from its file, then reload."""
        existing = self.get(entry_id)
        if existing is None:
            raise FAQError([Issue("", None, f"no entry with id {entry_id!r}")])
        remove_entry(self.faq_dir, existing)
        self.reload()

    def __repr__(self) -> str:
        return f"KnowledgeBase({os.fspath(self.faq_dir)!r}, entries={len(self._state.by_id)})"


def _without_broken(result: LoadResult) -> LoadResult:
    """Drop every entry of an id that is defined twice; broken files already gave no entries."""
    dup = {i.entry_id for i in result.errors if i.entry_id and "duplicate id" in i.message}
    return LoadResult([e for e in result.entries if e.id not in dup], result.issues)
