"""The portal with a real knowledge base over a private copy of the demo FAQ.

Every test gets its own copy of knowledge_base/faq (the real folder is never written) and its
own app; the embedding model is loaded once per test session (portal.knowledge.flows keeps
one per process) and embeddings are cached in one session folder, so building an index
after the first costs little.
"""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from knowledge_base import KnowledgeBase
from knowledge_base.config import default_cache_dir
from portal.config import ROOT, Settings
from portal.database import Database
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.portal import factories as f

FAQ_SOURCE = ROOT / "knowledge_base" / "faq"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def kb_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole session, seeded from the user's cache when there is
    one: vectors are keyed by model and text, so a copy only saves re-embedding the demo FAQ
    (e5 takes a while on two shared cores) and cannot change a result."""
    path = tmp_path_factory.mktemp("kb-cache")
    seed = default_cache_dir() / "embeddings.sqlite"
    if seed.is_file():
        with (
            closing(sqlite3.connect(seed)) as src,
            closing(sqlite3.connect(path / "embeddings.sqlite")) as dst,
        ):
            src.backup(dst)
    return path


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    """A private copy of the demo FAQ folder."""
    return Path(shutil.copytree(FAQ_SOURCE, tmp_path / "faq"))


@pytest.fixture
def kb_settings(settings: Settings, faq_dir: Path, kb_cache: Path) -> Settings:
    """The test settings with the knowledge base on, over the copy, not watched."""
    return settings.model_copy(
        update={
            "kb_enabled": True,
            "kb_dir": faq_dir,
            "kb_cache_dir": str(kb_cache),
            "kb_reload_s": 0.0,
        }
    )


@pytest.fixture
def kb_client(kb_settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """The whole app; its lifespan loads the knowledge base as in production."""
    app = create_app(kb_settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def kb(kb_client: TestClient) -> KnowledgeBase:
    """The app's loaded knowledge base."""
    loaded = kb_client.app.state.kb  # type: ignore[attr-defined]
    assert isinstance(loaded, KnowledgeBase)
    return loaded


def login(client: TestClient, db: Database, role: str) -> str:
    """A staff member of this role with a page session; returns the username."""
    with db.session() as session:
        username = f.user(session, role=role).username
    # The ticket list, not the role's home (an engineer's is /field, which needs an engineer).
    response = client.post(
        "/login", data={"username": username, "password": f.PASSWORD, "next": "/tickets"}
    )
    assert response.status_code == 200, response.text
    return username


def csrf(client: TestClient, url: str = "/knowledge") -> str:
    """This session's CSRF token, as a page hands it out."""
    found = TOKEN.search(client.get(url).text)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def form_value(page: str, name: str) -> str:
    """The value of an input, or the text of a textarea, in a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page) or re.search(
        rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S
    )
    assert found, f"no field {name}"
    return html.unescape(found.group(1))
