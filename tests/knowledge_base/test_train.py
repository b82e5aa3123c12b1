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
