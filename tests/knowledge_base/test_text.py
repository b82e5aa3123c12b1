"""Normalisation, Chinese tokens and synonyms."""

from __future__ import annotations

from knowledge_base.text import Synonyms, lexical_tokens, normalize


def test_normalize_full_width_and_case() -> None:
    assert normalize("  洗衣机 显示Ｅ２１  ") == "洗衣机 显示e21"


def test_tokens_have_words_bigrams_and_codes() -> None:
    tokens = lexical_tokens("洗衣机显示E21，WM-100")
    assert "洗衣机" in tokens and "#洗衣" in tokens and "#衣机" in tokens
    assert {"e21", "wm-100", "wm100"} <= set(tokens)
    assert "的" not in lexical_tokens("洗衣机的门")


def test_synonyms_map_variants_to_the_canonical_word(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "syn.txt"
    path.write_text("# comment\n空调 冷气 aircon\n费用 fee\n", encoding="utf-8")
    syn = Synonyms.load(path)
    assert syn.expand(normalize("冷气不凉")) == ["空调"]
    assert syn.expand("aircon fees") == ["空调", "费用"]
    assert syn.expand("coffee feedback") == []  # English only as whole words
    assert "=空调" in lexical_tokens("冷气坏了", syn)
