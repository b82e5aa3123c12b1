"""Training the static model: deterministic, loadable as a sentence-transformers folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge_base.embedder import Embedder
from knowledge_base.train import TrainSettings, answer_snippets, train_static_model


def test_answer_snippets_strip_markdown() -> None:
    text = "**E21 = 排水超时**：机器没排完水。\n1. 清理过滤器；\n- 检查排水管"
    assert answer_snippets(text) == ["E21 = 排水超时：机器没排完水", "清理过滤器", "检查排水管"]


def test_training_is_deterministic_and_learns(faq_dir: Path, tmp_path: Path) -> None:
    settings = TrainSettings(steps=60, dim=32, batch_size=6, tokens="char")
    a = train_static_model(faq_dir, tmp_path / "a", settings, progress=False)
    train_static_model(faq_dir, tmp_path / "b", settings, progress=False)
    wa = (tmp_path / "a" / "model.safetensors").read_bytes()
    assert wa == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert a.entries == 6 and a.final_loss < 1.0
    embedder = Embedder(str(tmp_path / "a"))
    vectors, _ = embedder.embed(["洗衣机排水超时", "洗衣机报E21", "How do I request a repair?"])
    assert embedder.dim == 32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_numpy_static_encoder_matches_sentence_transformers() -> None:
    # The portal computes the static model without torch; it must give the same vectors.
    from sentence_transformers import SentenceTransformer

    from knowledge_base.encoders import StaticEncoder, load_encoder, resolve_model

    texts = ["洗衣机排水超时", "空调E4怎么办", "How do I request a repair?", "WM-100"]
    encoder = load_encoder("kb-static-zh")
    assert isinstance(encoder, StaticEncoder)
    ours = encoder.encode(texts)
    theirs = SentenceTransformer(resolve_model("kb-static-zh"), device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True
    )
    assert np.abs(ours - theirs).max() < 1e-5


def test_training_without_a_category(faq_dir: Path, tmp_path: Path) -> None:
    from knowledge_base.loader import load_dir
    from knowledge_base.variants import holdout_model

    entries = load_dir(faq_dir).entries
    settings = TrainSettings(steps=20, dim=16, batch_size=4)
    path = holdout_model(entries, "fault_codes", tmp_path, settings=settings)
    report = (path / "training.json").read_text()
    assert '"entries": 4' in report  # the two washer entries were left out
    before = (path / "model.safetensors").stat().st_mtime_ns
    again = holdout_model(entries, "fault_codes", tmp_path, settings=settings)
    assert again == path and (path / "model.safetensors").stat().st_mtime_ns == before
