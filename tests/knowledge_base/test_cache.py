"""Embeddings are cached by content hash: changing one entry re-embeds only its texts."""

from __future__ import annotations

from pathlib import Path

from knowledge_base import KBConfig, KnowledgeBase
from knowledge_base.embedder import Embedder, text_key


def test_second_build_embeds_nothing(faq_dir: Path, config: KBConfig) -> None:
    first = KnowledgeBase(faq_dir, config)
    # every wording (15) for e5, and each entry's gist (6: question + start of the answer)
    assert first.stats.texts == 15 and first.stats.entries == 6
    assert first.stats.embedded == 15 + 6
    second = KnowledgeBase(faq_dir, config)
    assert (second.stats.embedded, second.stats.cached) == (0, 15 + 6)
    assert not any(p.is_relative_to(faq_dir) for p in config.cache_dir.rglob("*"))  # type: ignore[union-attr]


def test_editing_one_entry_reembeds_one_text(faq_dir: Path, config: KBConfig) -> None:
    kb = KnowledgeBase(faq_dir, config)
    path = faq_dir / "troubleshooting" / "ac" / "cooling.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("空调吹热风", "空调吹出来是热的"), encoding="utf-8"
    )
    assert kb.check_for_changes()
    assert kb.stats.embedded == 1  # an alternate: the entry's gist (question + answer) stays
    assert kb.stats.cached == kb.stats.texts + kb.stats.entries - 1


def test_cache_key_depends_on_model_and_text() -> None:
    assert text_key("m1", "洗衣机") != text_key("m2", "洗衣机")
    assert text_key("m1", "洗衣机") != text_key("m1", "洗衣机 ")
    assert len(text_key("m1", "x")) == 64


def test_cached_vectors_equal_fresh_ones(tmp_path: Path) -> None:
    texts = ["洗衣机排水超时", "空调不制冷", "How do I request a repair?"]
    cached = Embedder("e5", tmp_path / "c")
    first, n_first = cached.embed(texts)
    again, n_again = cached.embed(texts)
    fresh, _ = Embedder("e5", None).embed(texts)
    assert (n_first, n_again) == (3, 0)
    assert abs(first - again).max() == 0.0
    assert abs(first - fresh).max() < 1e-6


def test_model_fingerprint_changes_with_weights(tmp_path: Path) -> None:
    import shutil

    from knowledge_base.embedder import model_fingerprint, resolve_model

    copy = tmp_path / "model"
    shutil.copytree(resolve_model("kb-static-zh"), copy)
    before = model_fingerprint(str(copy))
    assert before == model_fingerprint(str(copy))
    with (copy / "model.safetensors").open("ab") as fh:
        fh.write(b"\0")
    assert model_fingerprint(str(copy)) != before


def test_the_static_model_skips_the_cache(tmp_path: Path) -> None:
    # A table lookup is cheaper than a cache read: nothing is stored for it.
    static = Embedder("kb-static-zh", tmp_path / "c")
    assert static.cache is None
    assert static.embed(["洗衣机排水超时"])[1] == 1
