"""The standard job library pages through the real app and database: a job made through its
form (steps, safety notes, standard parts, labour time) and shown as the engineer follows it,
changed, refused forms that keep what was typed, the list's filters, roles and CSRF."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.database import Database
from portal.errors import Invalid
from portal.sop.models import StandardJob
from portal.sop.pages import parse_parts
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

ROWS = re.compile(r'data-testid="sop-row" data-code="([^"]+)"')
XSS = "<script>window.__xss=1</script>"


@pytest.fixture
def world(db: Database) -> dict[str, Any]:
    """A washer model, an editor, a dispatcher, a finance reader and an engineer."""
    with db.session() as s:
        model = f.product_model(s, product_=f.product(s, category="洗衣机"))
        net = f.network(s)
        return {
            "model": model.code,
            "editor": f.user(s, role="knowledge_editor").username,
            "dispatcher": f.user(s, role="dispatcher").username,
            "finance": f.user(s, role="finance").username,
            "engineer": f.user(s, role="engineer", network=net).username,
        }


def submit(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    """Post a form with this session's CSRF token, as the browser does."""
    return client.post(url, data={"csrf_token": csrf(client, "/sop"), **data})


def jobs(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(StandardJob)) or 0


FORM = {
    "code": "SOP-WM-DRAIN",
    "title": "滚筒洗衣机排水故障维修",
    "service_type": "repair",
    "steps": "断电并关闭进水阀\n\n  拆下排水泵过滤器，清理异物  \n更换排水泵并试机",
    "safety_notes": "维修前必须断电\n注意地面积水防滑",
    "standard_parts": "P-WM-PUMP, 排水泵, 1\nP-WM-SEAL，密封圈\nP-WM-CLAMP, 2",
    "labour_hours": "1.5",
    "active": "1",
}


def test_a_job_is_made_shown_and_changed(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["editor"])
    assert "暂无标准作业" in client.get("/sop").text
    made = submit(client, "/sop", {**FORM, "model_code": world["model"]})
    assert made.status_code == 200 and "标准作业已创建" in made.text
    job_id = int(str(made.url).rsplit("/", 1)[1])
    with db.session() as s:
        job = s.get_one(StandardJob, job_id)
        assert job.steps == [
            "断电并关闭进水阀",
            "拆下排水泵过滤器，清理异物",
            "更换排水泵并试机",
        ]
        assert job.safety_notes == ["维修前必须断电", "注意地面积水防滑"]
        assert job.standard_parts == [
            {"part_code": "P-WM-PUMP", "name": "排水泵", "quantity": 1},
            {"part_code": "P-WM-SEAL", "name": "密封圈", "quantity": 1},
            {"part_code": "P-WM-CLAMP", "name": "", "quantity": 2},
        ]
        assert job.labour_hours == Decimal("1.50") and job.product_category == "洗衣机"
    # The detail shows it as the engineer follows it: safety first, numbered steps, parts.
    page = made.text
    steps = re.search(r'data-testid="sop-steps">(.*?)</ol>', page, re.S)
    assert steps and re.findall(r"<li>([^<]+)</li>", steps.group(1)) == job.steps
    assert page.index("维修前必须断电") < page.index("断电并关闭进水阀")
    assert "P-WM-PUMP" in page and "1.50 小时" in page
    assert f"型号 {world['model']}" in page
    # The form shows the parts as they are typed: one per line.
    assert "P-WM-PUMP, 排水泵, 1\nP-WM-SEAL, 密封圈, 1\nP-WM-CLAMP, , 2" in html.unescape(page)
    changed = submit(
        client,
        f"/sop/{job_id}",
        {
            "title": "排水故障维修（新版）",
            "steps": "断电\n" + XSS,
            "safety_notes": "",
            "standard_parts": "",
            "labour_hours": "2",
        },
    )
    assert changed.status_code == 200 and "标准作业已保存" in changed.text
    with db.session() as s:
        job = s.get_one(StandardJob, job_id)
        assert (job.title, job.labour_hours, job.active) == (
            "排水故障维修（新版）",
            Decimal("2.00"),
            False,
        )
        assert job.steps == ["断电", XSS] and job.safety_notes == [] and job.standard_parts == []
    assert XSS not in changed.text and html.escape(XSS, quote=False) in changed.text
    assert "已停用" in changed.text and "无标准备件" in changed.text


def test_the_list_filters_by_type_category_words_and_state(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["dispatcher"])
    submit(client, "/sop", {**FORM, "model_code": world["model"]})
    submit(
        client,
        "/sop",
        {**FORM, "code": "SOP-AC-INSTALL", "title": "空调安装", "service_type": "installation",
         "product_category": "空调", "active": ""},
    )  # fmt: skip
    assert ROWS.findall(client.get("/sop").text) == ["SOP-AC-INSTALL", "SOP-WM-DRAIN"]
    assert ROWS.findall(client.get("/sop?service_type=repair").text) == ["SOP-WM-DRAIN"]
    assert ROWS.findall(client.get("/sop?category=空调").text) == ["SOP-AC-INSTALL"]
    assert ROWS.findall(client.get("/sop?q=排水").text) == ["SOP-WM-DRAIN"]
    assert ROWS.findall(client.get("/sop?q=ac-inst").text) == ["SOP-AC-INSTALL"]
    assert ROWS.findall(client.get("/sop?active=true").text) == ["SOP-WM-DRAIN"]
    assert ROWS.findall(client.get("/sop?active=false").text) == ["SOP-AC-INSTALL"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"standard_parts": "P-1, 阀门, 一个"}, "标准备件第 1 行「P-1, 阀门, 一个」格式不对"),
        ({"standard_parts": "P-1\n, 阀门"}, "标准备件第 2 行"),
        ({"standard_parts": "P-1, a, 1, 2"}, "标准备件第 1 行"),
        ({"standard_parts": "P-1, 阀门, 0"}, "「备件数量」的值无效"),
        ({"model_code": "", "product_category": ""}, "请填写产品型号或产品品类中的至少一项"),
        ({"model_code": "NOPE-1"}, "型号"),
        ({"labour_hours": ""}, "缺少必填字段「标准工时」"),
        ({"labour_hours": "-1"}, "「标准工时」的值无效"),
        ({"service_type": "painting"}, "「服务类型」的值无效"),
        ({"steps": "x" * 501}, "作业步骤"),
        ({"code": ""}, "作业编码"),
    ],
)
def test_a_refused_form_comes_back_as_typed(
    client: TestClient,
    db: Database,
    world: dict[str, Any],
    form: dict[str, str],
    message: str,
) -> None:
    login(client, world["editor"])
    page = submit(client, "/sop", {**FORM, "model_code": world["model"], **form})
    assert page.status_code == 422
    error = re.search(r'data-testid="form-error">([^<]+)<', page.text)
    assert error and message in html.unescape(error.group(1)), error
    typed = {**FORM, **form}
    for name in ("title", "steps", "safety_notes", "standard_parts"):
        assert typed[name] in html.unescape(page.text), name  # still there, to be fixed
    assert jobs(db) == 0


def test_a_taken_code_is_refused_and_a_bad_edit_changes_nothing(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["editor"])
    made = submit(client, "/sop", {**FORM, "model_code": world["model"]})
    job_id = int(str(made.url).rsplit("/", 1)[1])
    again = submit(client, "/sop", {**FORM, "product_category": "洗衣机"})
    assert again.status_code == 422 and "标准作业编码「SOP-WM-DRAIN」已存在" in again.text
    assert jobs(db) == 1
    bad = submit(
        client,
        f"/sop/{job_id}",
        {**FORM, "title": "新名字", "standard_parts": "P-1, 阀门, 很多"},
    )
    assert bad.status_code == 422 and "标准备件第 1 行" in bad.text
    assert 'value="新名字"' in bad.text
    with db.session() as s:
        job = s.get_one(StandardJob, job_id)
        assert job.title == FORM["title"] and len(job.standard_parts) == 3
    assert client.get("/sop/999999").status_code == 404


def test_readers_read_editors_edit_and_posts_need_the_token(
    client: TestClient, db: Database, world: dict[str, Any]
) -> None:
    login(client, world["editor"])
    made = submit(client, "/sop", {**FORM, "model_code": world["model"]})
    job_id = int(str(made.url).rsplit("/", 1)[1])
    assert client.post("/sop", data={**FORM, "code": "X-1"}).status_code == 403  # no token
    login(client, world["finance"])
    page = client.get(f"/sop/{job_id}")
    assert page.status_code == 200 and "断电并关闭进水阀" in page.text
    assert 'data-testid="sop-form"' not in page.text and 'data-testid="new-sop"' not in page.text
    assert client.get("/sop/new").status_code == 403
    refused = submit(client, f"/sop/{job_id}", {"title": "财务改的", "labour_hours": "9"})
    assert refused.status_code == 403
    with db.session() as s:
        assert s.get_one(StandardJob, job_id).title == FORM["title"]
    client.post("/login", data={"username": world["engineer"], "password": f.PASSWORD})
    assert client.get("/sop").status_code == 403  # engineers read it on the job, in the app


def test_part_lines() -> None:
    assert parse_parts(" \nP-1\t阀门\t3\n") == [{"part_code": "P-1", "name": "阀门", "quantity": 3}]
    with pytest.raises(Invalid) as refused:
        parse_parts("P-1, 阀门, 1\n\nP-2, 阀门, x")
    assert refused.value.params["line"] == 3  # as the textarea counts, blank lines too
