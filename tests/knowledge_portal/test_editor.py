"""The editors' pages: browse, edit and add entries written back to the YAML files with their
comments kept, refused edits that lose nothing, a broken file that never takes search down,
hot reload, history, try-a-question, the unanswered list, and who may do any of it."""

from __future__ import annotations

import difflib
import html
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from knowledge_base import KnowledgeBase
from portal.config import Settings
from portal.database import Database
from portal.knowledge import service
from portal.knowledge.models import KbRevision, KbSearchLog, KbUnanswered
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.knowledge_portal.conftest import csrf, form_value, login
from tests.portal import factories as f

WASHER = Path("fault_codes") / "washing_machine.yaml"
OFF_TOPIC = "你们公司的股票代码是多少"


def entry_form(client: TestClient, entry_id: str, **changes: str) -> dict[str, str]:
    """The entry's form as the page fills it, with some fields changed."""
    page = client.get(f"/knowledge/entries/{entry_id}").text
    names = ("question", "alternates", "tags", "products", "answer", "version", "csrf_token")
    values = {name: form_value(page, name) for name in names}
    values["lang"] = "zh"
    return {**values, **changes}


def changed_lines(before: str, after: str) -> list[str]:
    """The lines a save added or removed."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_list_filters_by_category_and_words(
    kb_client: TestClient, kb: KnowledgeBase, db: Database
) -> None:
    login(kb_client, db, "knowledge_editor")
    page = kb_client.get("/knowledge")
    assert page.status_code == 200 and 'data-testid="kb-folder-errors"' not in page.text
    total = len(kb.entries())
    assert f'<small data-testid="kb-total">共 {total} 条</small>' in page.text
    assert page.text.count('data-testid="kb-row"') == 50 and 'rel="next"' in page.text
    fees = kb_client.get("/knowledge", params={"category": "fees"}).text
    assert 'data-id="wm-e21"' not in fees and 'data-id="fee-invoice"' in fees
    found = kb_client.get("/knowledge", params={"q": "排水 超时"}).text
    assert 'data-id="wm-e21"' in found and 'data-id="fee-invoice"' not in found


def test_edit_is_written_back_with_comments_and_layout_kept(
    kb_client: TestClient, kb: KnowledgeBase, db: Database, faq_dir: Path
) -> None:
    editor = login(kb_client, db, "knowledge_editor")
    before = (faq_dir / WASHER).read_text(encoding="utf-8")
    form = entry_form(kb_client, "wm-e21")
    form["alternates"] += "\n洗衣机水排不出去报E21"
    form["answer"] = form["answer"].replace("排水超时", "排水时间过长")
    saved = kb_client.post("/knowledge/entries/wm-e21", data=form)
    assert saved.status_code == 200 and str(saved.url).endswith("/knowledge/entries/wm-e21")
    assert "已保存「wm-e21」" in saved.text

    after = (faq_dir / WASHER).read_text(encoding="utf-8")
    assert after.startswith("# 洗衣机故障代码（显示屏提示），适用 WM-100 / WM-200 / WM-300\n")
    assert changed_lines(before, after) == [
        "+  - 洗衣机水排不出去报E21",
        "-    **E21 = 排水超时**：机器在规定时间内没有把水排完。常见原因和处理方法：",
        "+    **E21 = 排水时间过长**：机器在规定时间内没有把水排完。常见原因和处理方法：",
    ]
    assert "products: [WM-100, WM-200, WM-300]" in after  # flow style kept
    # Search has the change at once.
    hit = kb.search("洗衣机水排不出去报E21")[0]
    assert hit.id == "wm-e21" and "排水时间过长" in hit.answer

    with db.session() as session:
        [revision] = session.scalars(select(KbRevision)).all()
        assert (revision.entry_id, revision.action, revision.path) == (
            "wm-e21",
            "edit",
            WASHER.as_posix(),
        )
        assert revision.actor_name == editor and revision.actor.startswith("user:")
        assert "排水超时" in revision.before and "排水时间过长" in revision.after
    history = kb_client.get("/knowledge/history").text
    assert 'data-entry="wm-e21"' in history and editor in history
    assert '<span class="kb-dadd">+- 洗衣机水排不出去报E21</span>' in history
    entry_page = kb_client.get("/knowledge/entries/wm-e21").text
    assert entry_page.count('data-testid="kb-revision"') == 1


@pytest.mark.parametrize(
    ("changes", "zh", "en"),
    [
        ({"answer": "   "}, "「答案」不能为空", "'Answer' must not be empty"),
        ({"question": ""}, "「标准问题」不能为空", "'Question' must not be empty"),
        ({"products": "WM 100!"}, "型号「100!」格式不对", "product code '100!' looks wrong"),
        ({"answer": "长" * 10_001}, "「答案」不能超过 10000 个字", "at most 10000 characters"),
    ],
)
def test_an_invalid_edit_is_refused_in_both_languages_and_loses_nothing(
    kb_client: TestClient, db: Database, faq_dir: Path, changes: dict[str, str], zh: str, en: str
) -> None:
    login(kb_client, db, "knowledge_editor")
    before = (faq_dir / WASHER).read_text(encoding="utf-8")
    form = entry_form(kb_client, "wm-e21", alternates="我新写的问法\n另一个问法", **changes)
    refused = kb_client.post("/knowledge/entries/wm-e21", data=form)
    assert refused.status_code == 422
    assert zh in refused.text and 'data-testid="kb-form-errors"' in refused.text
    # The editor's text is all still in the form.
    assert form_value(refused.text, "alternates") == "我新写的问法\n另一个问法"
    for name, value in changes.items():
        assert form_value(refused.text, name) == value
    assert (faq_dir / WASHER).read_text(encoding="utf-8") == before
    kb_client.cookies.set("lang", "en")
    again = kb_client.post("/knowledge/entries/wm-e21", data=form)
    assert again.status_code == 422 and en in html.unescape(again.text)
    with db.session() as session:
        assert session.scalars(select(KbRevision)).all() == []


def test_saving_over_someone_elses_change_is_refused(
    kb_client: TestClient, db: Database, faq_dir: Path
) -> None:
    login(kb_client, db, "knowledge_editor")
    mine = entry_form(kb_client, "wm-e21", answer="我的版本")
    theirs = entry_form(kb_client, "wm-e21", answer="同事的版本")
    assert kb_client.post("/knowledge/entries/wm-e21", data=theirs).status_code == 200
    refused = kb_client.post("/knowledge/entries/wm-e21", data=mine)
    assert refused.status_code == 409 and "已被他人修改" in refused.text
    assert form_value(refused.text, "answer") == "我的版本"
    assert "同事的版本" in (faq_dir / WASHER).read_text(encoding="utf-8")


def _new_entry(client: TestClient, **fields: str) -> Any:
    data = {
        "csrf_token": csrf(client),
        "id": "wm-drum-light",
        "question": "洗衣机内筒照明灯怎么打开？",
        "alternates": "洗衣机里面的灯不亮\n滚筒灯在哪开",
        "tags": "照明, 按键",
        "products": "WM-300",
        "lang": "zh",
        "answer": "洗涤中按一下 **照明** 键，内筒灯亮 3 分钟后自动熄灭。",
        "path": WASHER.as_posix(),
        "new_path": "",
        **fields,
    }
    return client.post("/knowledge/new", data=data)


def test_a_new_entry_goes_into_an_existing_or_a_new_file(
    kb_client: TestClient, kb: KnowledgeBase, db: Database, faq_dir: Path
) -> None:
    login(kb_client, db, "knowledge_editor")
    created = _new_entry(kb_client)
    assert created.status_code == 200 and str(created.url).endswith("/entries/wm-drum-light")
    text = (faq_dir / WASHER).read_text(encoding="utf-8")
    assert text.rstrip().endswith("洗涤中按一下 **照明** 键，内筒灯亮 3 分钟后自动熄灭。")
    assert "- id: wm-drum-light" in text and text.startswith("# 洗衣机故障代码")
    assert kb.search("洗衣机内筒的灯怎么开")[0].id == "wm-drum-light"

    other = _new_entry(
        kb_client,
        id="dryer-lint",
        question="干衣机滤网多久清理一次？",
        answer="每次使用后清理。",
        path="",
        new_path="maintenance/dryer.yaml",
    )
    assert other.status_code == 200
    entry = kb.get("dryer-lint")
    assert entry is not None and entry.category == "maintenance"
    assert (faq_dir / "maintenance" / "dryer.yaml").is_file()
    with db.session() as session:
        actions = [r.action for r in session.scalars(select(KbRevision).order_by(KbRevision.id))]
        assert actions == ["create", "create"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "wm-e21"}, "编号「wm-e21」已被 fault_codes/washing_machine.yaml:35 使用"),
        ({"id": "有中文"}, "编号「有中文」只能包含字母、数字"),
        ({"path": "", "new_path": "../outside.yaml"}, "文件必须是 FAQ 文件夹内的 .yaml 文件"),
        ({"path": "", "new_path": ""}, "请选择一个文件"),
    ],
)
def test_a_new_entry_is_refused_with_the_reason(
    kb_client: TestClient, db: Database, faq_dir: Path, fields: dict[str, str], message: str
) -> None:
    login(kb_client, db, "knowledge_editor")
    before = (faq_dir / WASHER).read_text(encoding="utf-8")
    refused = _new_entry(kb_client, **fields)
    assert refused.status_code == 422 and message in refused.text
    assert form_value(refused.text, "question") == "洗衣机内筒照明灯怎么打开？"
    assert (faq_dir / WASHER).read_text(encoding="utf-8") == before
    assert not (faq_dir.parent / "outside.yaml").exists()


def test_a_broken_file_keeps_the_old_index_and_the_editors_see_why(
    kb_client: TestClient, kb: KnowledgeBase, db: Database, faq_dir: Path
) -> None:
    login(kb_client, db, "knowledge_editor")
    washer = faq_dir / WASHER
    good = washer.read_text(encoding="utf-8")
    washer.write_text(
        good.replace("  question: 洗衣机显示 E21", "  question: [洗衣机显示 E21"), encoding="utf-8"
    )
    assert not kb.check_for_changes()
    # Search still answers from the last good index, the broken file's entries included.
    assert kb.search("洗衣机显示E21")[0].id == "wm-e21"
    page = kb_client.get("/knowledge").text
    assert 'data-testid="kb-folder-errors"' in page
    assert "fault_codes/washing_machine.yaml:" in page and "YAML 语法错误" in page
    # An edit into the broken file is refused with the same reason; nothing is written.
    form = entry_form(kb_client, "wm-e10", answer="新答案")
    refused = kb_client.post("/knowledge/entries/wm-e10", data=form)
    assert refused.status_code == 422 and "YAML 语法错误" in refused.text
    assert "[洗衣机显示 E21" in washer.read_text(encoding="utf-8")
    # A save in another file is written but search stays on the old index: said so.
    form = entry_form(kb_client, "fee-invoice", answer="可以开具增值税专用发票。")
    saved = kb_client.post("/knowledge/entries/fee-invoice", data=form)
    assert saved.status_code == 200 and "搜索仍使用旧索引" in saved.text
    # Fixed on disk: picked up, errors gone, both changes live.
    washer.write_text(good, encoding="utf-8")
    assert kb.check_for_changes() and kb.errors == []
    invoice = kb.get("fee-invoice")
    assert invoice is not None and "增值税专用发票" in invoice.answer
    assert 'data-testid="kb-folder-errors"' not in kb_client.get("/knowledge").text


def test_files_changed_on_disk_are_picked_up_without_a_restart(
    kb_settings: Settings, fake_rasa: FakeRasa, faq_dir: Path, bot_headers: dict[str, str]
) -> None:
    watched = kb_settings.model_copy(update={"kb_reload_s": 0.05})
    app = create_app(watched, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        kb: KnowledgeBase = app.state.kb
        with (faq_dir / "fees" / "standards.yaml").open("a", encoding="utf-8") as fh:
            fh.write(
                "\n- id: fee-trade-in-pickup\n  question: 以旧换新上门拉走旧机收费吗？\n"
                "  answer: 以旧换新上门回收旧机免费。\n"
            )
        # The watcher swaps the new index in; wait for it (generously), then ask the API.
        for _ in range(600):
            if kb.get("fee-trade-in-pickup") is not None:
                break
            time.sleep(0.05)
        found = client.get(
            "/api/v1/kb/search", params={"q": "以旧换新上门拉走旧机收费吗"}, headers=bot_headers
        ).json()
        assert found["results"][0]["id"] == "fee-trade-in-pickup"


def test_reload_button(
    kb_client: TestClient, kb: KnowledgeBase, db: Database, faq_dir: Path
) -> None:
    login(kb_client, db, "knowledge_editor")
    with (faq_dir / "fees" / "standards.yaml").open("a", encoding="utf-8") as fh:
        fh.write("\n- id: fee-new\n  question: 新收费问题？\n  answer: 新答案。\n")
    done = kb_client.post("/knowledge/reload", data={"csrf_token": csrf(kb_client)})
    assert done.status_code == 200 and f"共 {len(kb.entries())} 条" in done.text
    assert kb.get("fee-new") is not None
    (faq_dir / "fees" / "standards.yaml").write_text("- id: [\n", encoding="utf-8")
    failed = kb_client.post("/knowledge/reload", data={"csrf_token": csrf(kb_client)})
    assert "仍使用旧索引" in failed.text and kb.get("fee-new") is not None


def test_try_a_question_shows_the_ranking_and_is_not_logged(
    kb_client: TestClient, db: Database
) -> None:
    login(kb_client, db, "knowledge_editor")
    page = kb_client.get("/knowledge/try", params={"q": "洗衣机显示E21"})
    assert page.status_code == 200
    assert 'data-testid="kb-overall-band"' in page.text and "直接回答" in page.text
    assert page.text.index('data-id="wm-e21" data-band="answer"') < page.text.index(
        'data-band="suggest"'
    )
    part = kb_client.get(
        "/knowledge/try", params={"q": OFF_TOPIC}, headers={"HX-Target": "ranking"}
    )
    # Only the fragment htmx swaps in, not a whole page.
    assert part.text.lstrip().startswith('<div id="ranking"') and "<html" not in part.text
    assert 'data-band="none"' in part.text and "无匹配" in part.text
    with db.session() as session:
        assert session.scalars(select(KbSearchLog)).all() == []


def _ask(client: TestClient, headers: dict[str, str], question: str, times: int = 1) -> None:
    for _ in range(times):
        client.get("/api/v1/kb/search", params={"q": question}, headers=headers)


def test_unanswered_list_ranks_and_turns_a_question_into_an_entry(
    kb_client: TestClient,
    kb: KnowledgeBase,
    db: Database,
    bot_headers: dict[str, str],
    faq_dir: Path,
) -> None:
    _ask(kb_client, bot_headers, "今天天气怎么样")
    _ask(kb_client, bot_headers, "洗衣机能洗羽绒服吗能不能", 1)
    _ask(kb_client, bot_headers, OFF_TOPIC, 3)
    login(kb_client, db, "knowledge_editor")
    page = kb_client.get("/knowledge/unanswered").text
    assert page.index(OFF_TOPIC) < page.index("今天天气怎么样")
    assert 'data-count="3"' in page
    with db.session() as session:
        row_id = session.scalars(
            select(KbUnanswered.id).where(KbUnanswered.query == OFF_TOPIC)
        ).one()
    form = kb_client.get("/knowledge/new", params={"unanswered": row_id}).text
    assert form_value(form, "question") == OFF_TOPIC
    assert form_value(form, "unanswered_id") == str(row_id)
    created = _new_entry(
        kb_client,
        id="company-stock",
        question=OFF_TOPIC,
        alternates="",
        answer="本公司股票代码请查看官网投资者关系页面。",
        path="general.yaml",
        unanswered_id=str(row_id),
    )
    assert created.status_code == 200
    assert (faq_dir / "general.yaml").is_file() and kb.get("company-stock") is not None
    assert OFF_TOPIC not in kb_client.get("/knowledge/unanswered").text
    resolved = kb_client.get("/knowledge/unanswered", params={"status": "resolved"}).text
    assert OFF_TOPIC in resolved and "company-stock" in resolved
    answered = kb_client.get("/api/v1/kb/search", params={"q": OFF_TOPIC}, headers=bot_headers)
    assert answered.json()["results"][0]["id"] == "company-stock"


def test_an_unanswered_question_becomes_an_alternate_or_is_dismissed(
    kb_client: TestClient, kb: KnowledgeBase, db: Database, bot_headers: dict[str, str]
) -> None:
    question = "我手机13800138000上的会员等级咋升"
    _ask(kb_client, bot_headers, question, 2)
    _ask(kb_client, bot_headers, "今天天气怎么样")
    login(kb_client, db, "knowledge_editor")
    with db.session() as session:
        rows = {r.query: r.id for r in service.list_unanswered(session)[0]}
    stored = "我手机#上的会员等级咋升"
    token = csrf(kb_client)
    missing = kb_client.post(
        f"/knowledge/unanswered/{rows[stored]}/alternate",
        data={"csrf_token": token, "entry_id": "no-such"},
    )
    assert "知识条目不存在" in missing.text
    added = kb_client.post(
        f"/knowledge/unanswered/{rows[stored]}/alternate",
        data={"csrf_token": token, "entry_id": "account-member-points"},
    )
    assert added.status_code == 200 and "已把" in added.text
    entry = kb.get("account-member-points")
    assert entry is not None and stored in entry.alternates
    hits = kb.search("我手机上的会员等级咋升")
    assert hits[0].id == "account-member-points" and hits[0].band.value != "none"
    dismissed = kb_client.post(
        f"/knowledge/unanswered/{rows['今天天气怎么样']}/dismiss", data={"csrf_token": token}
    )
    assert dismissed.status_code == 200
    assert 'data-testid="kb-unanswered-row"' not in kb_client.get("/knowledge/unanswered").text
    with db.session() as session:
        states = {r.query: (r.status, r.entry_id) for r in session.scalars(select(KbUnanswered))}
        assert states == {
            stored: ("resolved", "account-member-points"),
            "今天天气怎么样": ("dismissed", ""),
        }
        [revision] = session.scalars(select(KbRevision)).all()
        assert revision.action == "alternate" and stored in revision.after


def test_feedback_counts_show_on_the_editors_pages(
    kb_client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    for helpful in (True, True, False):
        body = {"entry_id": "wm-e21", "helpful": helpful, "query": "E21", "conversation_id": "c1"}
        kb_client.post("/api/v1/kb/feedback", json=body, headers=bot_headers)
    login(kb_client, db, "knowledge_editor")
    assert "👍 2 · 👎 1" in kb_client.get("/knowledge", params={"q": "wm-e21"}).text
    assert "👍 2 · 👎 1" in kb_client.get("/knowledge/entries/wm-e21").text


PAGES = (
    "/knowledge",
    "/knowledge/entries/wm-e21",
    "/knowledge/new",
    "/knowledge/try",
    "/knowledge/unanswered",
    "/knowledge/history",
)


@pytest.mark.parametrize("role", ["agent", "dispatcher", "engineer_plain", "finance"])
def test_other_staff_get_403_and_change_nothing(
    kb_client: TestClient, db: Database, faq_dir: Path, role: str
) -> None:
    login(kb_client, db, role.removesuffix("_plain"))
    for url in PAGES:
        assert kb_client.get(url).status_code == 403, url
    before = (faq_dir / WASHER).read_text(encoding="utf-8")
    token = csrf(kb_client, "/tickets")
    refused = kb_client.post(
        "/knowledge/entries/wm-e21", data={"csrf_token": token, "question": "x", "answer": "y"}
    )
    assert refused.status_code == 403
    assert kb_client.post("/knowledge/reload", data={"csrf_token": token}).status_code == 403
    assert (faq_dir / WASHER).read_text(encoding="utf-8") == before


def test_customers_and_strangers_are_sent_to_the_staff_login(
    kb_client: TestClient, db: Database, settings: Settings
) -> None:
    for url in PAGES:
        answer = kb_client.get(url, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    with db.session() as session:
        customer = f.customer(session)
    headers = f.bearer(settings, customer)
    assert kb_client.get("/knowledge", headers=headers, follow_redirects=False).status_code == 303


def test_admin_may_edit_and_the_csrf_token_is_required(
    kb_client: TestClient, db: Database, faq_dir: Path
) -> None:
    login(kb_client, db, "admin")
    assert kb_client.get("/knowledge").status_code == 200
    form = entry_form(kb_client, "wm-e21", answer="管理员改的答案")
    forged = {k: v for k, v in form.items() if k != "csrf_token"}
    assert kb_client.post("/knowledge/entries/wm-e21", data=forged).status_code == 403
    assert "管理员改的答案" not in (faq_dir / WASHER).read_text(encoding="utf-8")
    assert kb_client.post("/knowledge/entries/wm-e21", data=form).status_code == 200
    assert "管理员改的答案" in (faq_dir / WASHER).read_text(encoding="utf-8")
    assert kb_client.get("/knowledge/entries/no-such-entry").status_code == 404


def test_pages_say_so_when_no_knowledge_base_is_loaded(client: TestClient, db: Database) -> None:
    login(client, db, "knowledge_editor")
    page = client.get("/knowledge")
    assert page.status_code == 200 and 'data-testid="kb-unavailable"' in page.text
    assert client.get("/knowledge/entries/wm-e21").status_code == 404
