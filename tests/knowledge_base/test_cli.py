"""The CLI on a small temporary FAQ folder, in-process and as `python -m knowledge_base`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_search_json(faq_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "search",
            "--faq-dir",
            str(faq_dir),
            "--cache-dir",
            str(cache_dir),
            "--json",
            "--k",
            "3",
            "空调吹出来是热的",
        ],
        capsys,
    )
    assert code == 0
    hits = json.loads(out)
    assert len(hits) == 3 and hits[0]["id"] == "ac-not-cooling"
    assert hits[0]["band"] in {"answer", "suggest"} and isinstance(hits[0]["score"], float)


def test_search_text_output(
    faq_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        [
            "search",
            "--faq-dir",
            str(faq_dir),
            "--cache-dir",
            str(cache_dir),
            "--product",
            "WM-100",
            "洗衣机不进水了",
        ],
        capsys,
    )
    assert code == 0 and "  wm-e10  " in out.splitlines()[0]


def test_eval_json_has_exactly_the_documented_keys(
    faq_dir: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    rows = [
        {"query": "水排不掉，屏幕E21", "expected": "wm-e21"},
        {"query": "怎么看报修处理到哪了", "expected": "service-order-progress"},
        {"query": "how to get a technician", "expected": "en-report-repair"},
        {"query": "冷气不凉", "expected": "ac-not-cooling"},
    ]
    queries.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    code, out, _ = run(
        [
            "eval",
            "--faq-dir",
            str(faq_dir),
            "--cache-dir",
            str(cache_dir),
            "--queries",
            str(queries),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    result = json.loads(out)  # exactly one JSON object on stdout
    assert set(result) == {"hit_at_1", "hit_at_3", "mrr_at_10", "p50_ms", "p95_ms", "n"}
    assert result["n"] == 4
    assert 0.75 <= result["hit_at_1"] <= result["hit_at_3"] <= 1.0
    assert result["p50_ms"] <= result["p95_ms"]


def test_eval_bad_query_file_reports_line(
    faq_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "ok", "expected": "wm-e21"}\n{"query": 1}\n', encoding="utf-8")
    code, _, err = run(
        ["eval", "--faq-dir", str(faq_dir), "--no-cache", "--queries", str(queries)], capsys
    )
    assert code == 1 and "q.jsonl:2" in err


def test_index_reports_embedding_counts(
    faq_dir: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["index", "--faq-dir", str(faq_dir), "--cache-dir", str(cache_dir), "--json"]
    # 15 wordings for e5, and 6 gists (question + start of the answer, one per entry)
    assert json.loads(run(args, capsys)[1])["embedded"] == 15 + 6
    second = json.loads(run(args, capsys)[1])
    assert (second["embedded"], second["cached"], second["dense_kind"]) == (0, 21, "flat")
    assert (cache_dir / "embeddings.sqlite").is_file()
    assert not list(faq_dir.rglob("*.sqlite"))


def test_module_entry_point(faq_dir: Path, cache_dir: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "AFTERSALES_KB_CACHE": str(cache_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "knowledge_base", "index", "--faq-dir", str(faq_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "indexed 6 entries (15 texts)" in proc.stdout
    assert "embedding" in proc.stderr  # the tqdm progress bar
    assert (cache_dir / "embeddings.sqlite").is_file()


def test_compare_prints_every_variant_side_by_side(
    faq_dir: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    rows = [
        {"query": "水排不掉，屏幕E21", "expected": "wm-e21"},
        {"query": "冷气不凉", "expected": "ac-not-cooling"},
        {"query": "how to get a technician", "expected": "en-report-repair"},
    ]
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    base = ["compare", "--faq-dir", str(faq_dir), "--cache-dir", str(cache_dir)]
    code, out, _ = run([*base, "--queries", str(queries), "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    assert list(result) == ["bm25-char", "bm25-jieba", "e5", "static", "e5-gist", "hybrid"]
    assert all(r["n"] == 3 and 0 <= r["hit_at_1"] <= 1 for r in result.values())
    code, out, _ = run([*base, "--queries", str(queries)], capsys)
    assert code == 0 and "hybrid" in out and "bm25-char" in out
