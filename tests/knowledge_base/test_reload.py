"""Hot reload: a new index is built beside the old one and swapped; broken files never win."""

from __future__ import annotations

import time
from pathlib import Path

from knowledge_base import KBConfig, KnowledgeBase

NEW_ENTRY = """
- id: rf-not-cold
  question: 冰箱冷藏室不冷了怎么办？
  alternates:
  - 冰箱不制冷
  answer: 检查温度设置和门封，出风口不要被食物挡住。
"""


def test_reload_picks_up_a_new_entry(faq_dir: Path, config: KBConfig) -> None:
    kb = KnowledgeBase(faq_dir, config)
    assert not kb.check_for_changes()
    with (faq_dir / "service.yaml").open("a", encoding="utf-8") as fh:
        fh.write(NEW_ENTRY)
    assert kb.check_for_changes()
    assert kb.get("rf-not-cold") is not None
    assert kb.search("冰箱里面不凉了")[0].id == "rf-not-cold"
    assert kb.last_error is None


def test_broken_file_keeps_the_old_index_and_reports_file_and_line(
    faq_dir: Path, config: KBConfig
) -> None:
    kb = KnowledgeBase(faq_dir, config)
    washer = faq_dir / "fault_codes" / "washer.yaml"
    good = washer.read_text(encoding="utf-8")
    washer.write_text(good.replace("  answer: |\n    E10", "  answr: |\n    E10"), encoding="utf-8")
    assert not kb.check_for_changes()
    assert kb.last_error is not None
    assert kb.last_error.path == "fault_codes/washer.yaml"
    assert kb.last_error.line == 17
    assert "unknown field 'answr'" in str(kb.errors)
    # the old index still answers, including the entry that is now broken on disk
    assert kb.search("洗衣机不进水")[0].id == "wm-e10"
    assert not kb.check_for_changes()  # nothing changed since the failed attempt: no retry

    washer.write_text(good.replace("进水超时", "进水时间过长"), encoding="utf-8")
    assert kb.check_for_changes()
    assert kb.last_error is None and kb.errors == []
    entry = kb.get("wm-e10")
    assert entry is not None and "进水时间过长" in entry.answer


def test_yaml_syntax_error_while_running(faq_dir: Path, config: KBConfig) -> None:
    kb = KnowledgeBase(faq_dir, config)
    (faq_dir / "service.yaml").write_text("- id: x\n  question: [oops\n", encoding="utf-8")
    assert not kb.check_for_changes()
    assert kb.last_error is not None and kb.last_error.path == "service.yaml"
    assert kb.search("保修几年")[0].id == "warranty-period"


def test_deleted_file_is_noticed(faq_dir: Path, config: KBConfig) -> None:
    kb = KnowledgeBase(faq_dir, config)
    (faq_dir / "troubleshooting" / "ac" / "cooling.yaml").unlink()
    assert kb.check_for_changes()
    assert kb.get("ac-not-cooling") is None


def test_watch_thread_reloads_in_the_background(faq_dir: Path, config: KBConfig) -> None:
    kb = KnowledgeBase(faq_dir, config)
    kb.watch(interval=0.05)
    try:
        with (faq_dir / "service.yaml").open("a", encoding="utf-8") as fh:
            fh.write(NEW_ENTRY)
        deadline = time.monotonic() + 20
        while kb.get("rf-not-cold") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kb.get("rf-not-cold") is not None
    finally:
        kb.stop_watching()


def test_searches_during_reload_always_see_a_whole_index(faq_dir: Path, config: KBConfig) -> None:
    import threading

    kb = KnowledgeBase(faq_dir, config)
    failures: list[str] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            hits = kb.search("洗衣机报E21", k=3)
            if not hits or hits[0].id != "wm-e21":
                failures.append(repr(hits[:1]))

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for i in range(3):
            with (faq_dir / "service.yaml").open("a", encoding="utf-8") as fh:
                fh.write(
                    NEW_ENTRY.replace("rf-not-cold", f"rf-{i}").replace("冰箱冷藏", f"冰箱{i}号")
                )
            assert kb.check_for_changes()
    finally:
        stop.set()
        thread.join()
    assert failures == []
