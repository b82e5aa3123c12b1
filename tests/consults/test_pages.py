"""Consults over HTTP: the engineer asks from the job page, the expert takes and answers at
the desk, the engineer's phone hears of it on the socket and reads the answer; the ticket
page shows the consult; nobody reads a consult of a job that is not theirs."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.consults.models import Consult
from portal.database import Database
from tests.consults.support import JPEG, PDF, Scene, mp4, scene
from tests.field.support import csrf, log_in
from tests.portal import factories as f


@pytest.fixture
def sc(db: Database) -> Scene:
    return scene(db)


def _consult(db: Database) -> Consult:
    with db.session() as s:
        row = s.scalars(select(Consult)).one()
        s.expunge_all()
        return row


def _ask(client: TestClient, job: str, files: list[tuple[str, tuple[str, bytes, str]]]) -> str:
    token = csrf(client, f"/field/jobs/{job}/consults/new")
    response = client.post(
        f"/field/jobs/{job}/consults",
        data={"csrf_token": token, "question": "E21 换泵后仍报警，是否主板？", "fault_code": "E21"},
        files=files,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_engineer_asks_expert_answers_engineer_hears_it_live(
    client: TestClient, db: Database, sc: Scene
) -> None:
    w = sc.world
    log_in(client, w.username)
    job = client.get(f"/field/jobs/{w.job}")
    assert 'data-consult-card="/field/jobs/' in job.text
    card = client.get(f"/field/jobs/{w.job}/consults/card")
    assert 'data-testid="open-consult"' in card.text and "consult-link" not in card.text
    # A PDF is not a photo: refused, with the question kept for the next try.
    back = _ask(client, w.job, [("photos", ("scan.pdf", PDF, "application/pdf"))])
    assert back == f"/field/jobs/{w.job}/consults/new"
    again = client.get(back)
    assert "只支持 JPG、PNG、WEBP、GIF" in again.text
    assert "E21 换泵后仍报警，是否主板？" in again.text
    where = _ask(
        client,
        w.job,
        [
            ("photos", ("pump.jpg", JPEG, "image/jpeg")),
            ("video", ("clip.mp4", mp4(8), "video/mp4")),
        ],
    )
    consult = _consult(db)
    assert where == f"/field/consults/{consult.id}"
    page = client.get(where)
    assert page.status_code == 200
    assert page.text.count('data-testid="consult-photo"') == 1
    assert page.text.count('data-testid="consult-video"') == 1
    photo_id = consult.messages[0].attachment_ids[0]
    photo = client.get(f"/consults/{consult.id}/files/{photo_id}")
    assert photo.status_code == 200 and photo.content == JPEG

    with client.websocket_connect("/consults/ws") as phone:
        assert phone.receive_json() == {"type": "hello"}
        # The desk in the same client (one event loop, as one server has): the socket stays
        # the engineer's, the requests become the expert's.
        expert = client
        log_in(expert, sc.expert, next_="/consults")
        desk = expert.get("/consults")
        assert f'data-id="{consult.id}" data-status="open"' in desk.text
        opened = expert.get(f"/consults?open={consult.id}")
        assert 'data-testid="consult-history"' in opened.text
        assert 'data-testid="consult-sop"' in opened.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', opened.text).group(1)  # type: ignore[union-attr]
        taken = expert.post(
            f"/consults/{consult.id}/take", data={"csrf_token": token}, follow_redirects=False
        )
        assert taken.status_code == 303
        assert phone.receive_json() == {"type": "consult", "id": consult.id}
        answered = expert.post(
            f"/consults/{consult.id}/answer",
            data={"csrf_token": token, "text": "测排水泵驱动电压", "measure": "更换主板"},
            files=[("photos", ("board.jpg", JPEG, "image/jpeg"))],
            follow_redirects=False,
        )
        assert answered.status_code == 303
        assert phone.receive_json() == {"type": "consult", "id": consult.id}
        # The expert's bell entry for the new consult opens it at the desk (the ticket pages
        # are not theirs).
        bell = expert.get("/notifications").text
        assert f'href="/consults?open={consult.id}"' in bell or (
            f'value="/consults?open={consult.id}"' in bell
        )
        assert f"/tickets/{w.job}" not in bell
    log_in(client, w.username)
    # The engineer's bell says the expert answered, and leads to the consult.
    notes = client.get("/notifications").text
    assert "回复了您就工单" in notes and f"/field/consults/{consult.id}" in notes
    thread = client.get(f"/consults/{consult.id}/thread")
    assert "测排水泵驱动电压" in thread.text and "更换主板" in thread.text
    assert 'data-status="answered"' in thread.text
    card = client.get(f"/field/jobs/{w.job}/consults/card")
    assert 'data-status="answered"' in card.text and "更换主板" in card.text
    # The desk's ticket view and the agent's ticket page show it too.
    agent = TestClient(client.app)
    log_in(agent, w.agent, next_="/tickets")
    assert 'hx-get="/consults/ticket/' in agent.get(f"/tickets/{w.job}").text
    on_ticket = agent.get(f"/consults/ticket/{w.job}")
    assert "测排水泵驱动电压" in on_ticket.text
    # The agent is not an expert: no link to the desk, which would refuse them.
    assert "/consults?open=" not in on_ticket.text
    # Closing it from the phone.
    token = csrf(client, where)
    closed = client.post(
        f"/field/consults/{consult.id}/resolve", data={"csrf_token": token}, follow_redirects=False
    )
    assert closed.status_code == 303
    assert _consult(db).status == "resolved"


def test_nobody_reads_a_consult_of_a_job_not_theirs(
    client: TestClient, db: Database, sc: Scene
) -> None:
    w = sc.world
    log_in(client, w.username)
    _ask(client, w.job, [("photos", ("pump.jpg", JPEG, "image/jpeg"))])
    consult = _consult(db)
    photo_id = consult.messages[0].attachment_ids[0]
    other = TestClient(client.app)
    log_in(other, w.other_username)
    for url in (
        f"/field/consults/{consult.id}",
        f"/consults/{consult.id}/thread",
        f"/consults/{consult.id}/files/{photo_id}",
        f"/field/jobs/{w.job}/consults/new",
        f"/field/jobs/{w.job}/consults/card",
    ):
        assert other.get(url).status_code == 404, url
    # The other engineer's socket hears nothing of it; the desk is not theirs.
    assert other.get("/consults").status_code == 403
    # A network manager elsewhere does not see the ticket's consults.
    with db.session() as s:
        manager = f.user(s, role="network_manager", network=f.network(s, city="北京"))
    boss = TestClient(client.app)
    log_in(boss, manager.username, next_="/tickets")
    assert boss.get(f"/consults/ticket/{w.job}").status_code == 404
    assert boss.get(f"/consults/{consult.id}/thread").status_code == 404
    # An expert reads the files of a consult, not the ticket's other attachments.
    expert = TestClient(client.app)
    log_in(expert, sc.expert, next_="/consults")
    assert expert.get(f"/consults/{consult.id}/files/{photo_id}").status_code == 200
    assert expert.get(f"/consults/{consult.id}/files/{photo_id + 1000}").status_code == 404
