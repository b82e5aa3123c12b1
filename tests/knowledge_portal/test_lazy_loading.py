"""The portal loads what it uses: the default models need neither torch nor
sentence-transformers, so starting the portal with them imports neither."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from knowledge_base import KBConfig
from portal.config import ROOT

PROBE = """
import json, sys
import httpx
from fastapi.testclient import TestClient
from portal.config import Settings
from portal.main import create_app
settings = Settings(
    _env_file=None,
    database_url="sqlite:///" + sys.argv[1] + "/portal.db",
    var_dir=sys.argv[1],
    kb_enabled=True,
    kb_cache_dir=sys.argv[2],
    kb_reload_s=0,
    secret_key="test-secret-key-for-the-portal-under-test-7c1e",
)
from portal.migrate import upgrade
upgrade(settings.effective_database_url)
app = create_app(settings)
with TestClient(app) as client:
    kb = app.state.kb
    hits = kb.search("洗衣机显示E21", k=3)
    print(json.dumps({
        "loaded": kb is not None,
        "top": hits[0].id if hits else None,
        "signals": sorted(kb._state.index.signals),
        "torch": "torch" in sys.modules,
        "sentence_transformers": "sentence_transformers" in sys.modules,
    }))
"""


def _probe(tmp_path: Path, cache: Path, **env: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), str(cache)],
        cwd=ROOT,
        env={**os.environ, "KB_ENABLED": "true", **env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_default_models_do_not_import_torch(tmp_path: Path, kb_cache: Path) -> None:
    result = _probe(tmp_path, kb_cache)
    assert result["loaded"] and result["top"] == "wm-e21"
    assert result["signals"] == sorted(KBConfig().weights())
    assert result["torch"] is False
    assert result["sentence_transformers"] is False


def test_a_sentence_transformers_model_imports_torch_when_configured(
    tmp_path: Path, kb_cache: Path
) -> None:
    # minilm-en ships as a sentence-transformers folder: only a model like that needs torch.
    # A two-entry FAQ keeps this quick; the default test above uses the demo FAQ.
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "wm.yaml").write_text(
        "- id: wm-e21\n  question: 洗衣机显示E21是什么故障？\n  answer: 排水超时。\n"
        "- id: en-repair\n  question: How do I request a repair?\n  lang: en\n"
        "  answer: Call us.\n",
        encoding="utf-8",
    )
    result = _probe(
        tmp_path,
        tmp_path / "cache",
        KB_MODEL="minilm-en",
        KB_GENERAL_MODEL="",
        KB_WEIGHTS="domain=0.5,char=0.3,word=0.2",
        KB_DIR=str(faq),
    )
    assert result["signals"] == ["char", "domain", "word"]
    assert result["torch"] is True
