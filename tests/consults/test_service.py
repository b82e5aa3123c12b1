"""The consult rules on both databases: what a consult may carry (kinds, sizes, a clip's
length), who may see and do what (an engineer only their own jobs' consults, experts all),
and the way from open to resolved with the first answer's time kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.consults import flows, service
from portal.consults.models import Consult
from portal.consults.policies import DESK, READ
from portal.database import Database
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.notifications.models import Notification
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketAttachment
from tests.consults.support import JPEG, LIMITS, PDF, WEBM, Scene, engineer, mp4, scene, staff
from tests.portal import factories as f

Upload = service.Upload


@pytest.fixture
def sc(db: Database) -> Scene:
    return scene(db)


def _job(s: Session, number: str) -> Ticket:
    return s.scalars(select(Ticket).where(Ticket.number == number)).one()


def _open(s: Session, sc: Scene, root: Path, **kw: object) -> Consult:
    args: dict[str, object] = {
        "question": "排水泵有异响，更换后仍报 E21，是否主板问题？",
        "fault_code": "e21",
        "photos": [Upload("pump.jpg", JPEG)],
        "video": None,
    }
    args.update(kw)
    return service.open_consult(
        s,
        ticket=_job(s, sc.world.job),
        principal=engineer(s, sc.world.engineer_id),
        limits=LIMITS,
        root=root,
        **args,  # type: ignore[arg-type]
    )


def _attachments(s: Session, number: str) -> int:
    return len(tickets.list_attachments(s, ticket=_job(s, number)))


def test_a_consult_keeps_its_question_code_photos_and_clip_on_the_ticket(
    db: Database, sc: Scene, tmp_path: Path
) -> None:
    with db.session() as s:
        consult = _open(s, sc, tmp_path, video=Upload("clip.mp4", mp4(12.5)))
        assert (consult.status, consult.fault_code) == ("open", "E21")
        [first] = consult.messages
        assert first.side == "engineer" and first.text.startswith("排水泵")
        stored = {a.id: a for a in s.scalars(select(TicketAttachment))}
        kinds = [stored[i].content_type for i in first.attachment_ids]
        assert kinds == ["image/jpeg", "video/mp4"]
        assert all(stored[i].ticket_id == consult.ticket_id for i in first.attachment_ids)
        assert all((tmp_path / stored[i].storage_key).is_file() for i in first.attachment_ids)
        assert service.file_ids(consult) == set(first.attachment_ids)


@pytest.mark.parametrize(
    ("photos", "video", "key"),
    [
        ([Upload(f"p{i}.jpg", JPEG) for i in range(4)], None, "consult.too_many_photos"),
        ([Upload("invoice.pdf", PDF)], None, "consult.photo_type"),
        ([Upload("big.jpg", JPEG + b"\0" * 1024)], None, "consult.photo_too_large"),
        ([Upload("empty.jpg", b"")], None, "error.file_empty"),
        ([], Upload("clip.jpg", JPEG), "consult.video_type"),
        ([], Upload("clip.mp4", mp4(10, pad=5000)), "consult.video_too_large"),
        ([], Upload("clip.mp4", mp4(61)), "consult.video_too_long"),
        ([], Upload("clip.mov", mp4(90, version=1, brand=b"qt  ")), "consult.video_too_long"),
    ],
)
def test_what_a_consult_cannot_carry_is_refused_and_nothing_is_stored(
    db: Database, sc: Scene, tmp_path: Path, photos: list[Upload], video: Upload | None, key: str
) -> None:
    with db.session() as s:
        with pytest.raises(Invalid) as refused:
            _open(s, sc, tmp_path, photos=photos, video=video)
        assert refused.value.key == key
        # Chinese and English, with the limit in it where there is one.
        assert refused.value.message_zh and refused.value.message_en
        assert _attachments(s, sc.world.job) == 0
        assert s.scalars(select(Consult)).first() is None


def test_the_clip_limits_take_what_they_allow(db: Database, sc: Scene, tmp_path: Path) -> None:
    with db.session() as s:
        ok = [Upload(f"p{i}.jpg", JPEG) for i in range(3)]
        consult = _open(s, sc, tmp_path, photos=ok, video=Upload("c.mov", mp4(60, brand=b"qt  ")))
        assert len(consult.messages[0].attachment_ids) == 4
        webm = _open(s, sc, tmp_path, photos=[], video=Upload("c.webm", WEBM))
        attachment = s.get_one(TicketAttachment, webm.messages[0].attachment_ids[0])
        assert attachment.content_type == "video/webm"
    msg = pytest.raises(Invalid, service.check_files, [], Upload("x.mp4", mp4(75)), limits=LIMITS)
    assert "75" in msg.value.message_zh and "60" in msg.value.message_zh


def test_a_clip_s_length_is_read_from_its_movie_header() -> None:
    assert service.mp4_seconds(mp4(12.5)) == 12.5
    assert service.mp4_seconds(mp4(90, version=1)) == 90
    assert service.mp4_seconds(WEBM) is None
    assert service.mp4_seconds(b"\0\0\0\x10ftypisom\0\0\0\0") is None  # no moov box


def test_question_and_job_rules(db: Database, sc: Scene, tmp_path: Path) -> None:
    with db.session() as s:
        with pytest.raises(Invalid) as empty:
            _open(s, sc, tmp_path, question="   ")
        assert empty.value.key == "consult.question_missing"
        # The code heads the experts' queue: only what a unit shows (a tester typed emoji).
        for odd in ("E4 😀 XXXX", "E 21", "<b>", "E21-"):
            with pytest.raises(Invalid) as bad:
                _open(s, sc, tmp_path, fault_code=odd)
            assert bad.value.key == "consult.code_bad", odd
        assert _open(s, sc, tmp_path, fault_code=" ch-05 ").fault_code == "CH-05"
        with pytest.raises(Invalid):
            _open(s, sc, tmp_path, question="问" * (service.QUESTION_MAX + 1))
        # A job that is over takes no consult.
        done = f.ticket(s, customer=f.customer(s), actions=("accept", "cancel"))
        done.engineer_id = sc.world.engineer_id
        s.flush()
        with pytest.raises(Conflict) as closed:
            service.open_consult(
                s,
                ticket=done,
                principal=engineer(s, sc.world.engineer_id),
                question="?",
                fault_code="",
                photos=[],
                video=None,
                limits=LIMITS,
                root=tmp_path,
            )
        assert closed.value.key == "consult.job_closed"


def test_an_engineer_sees_only_their_own_jobs_consults_experts_all(
    db: Database, sc: Scene, tmp_path: Path
) -> None:
    with db.session() as s:
        mine = _open(s, sc, tmp_path)
        me = engineer(s, sc.world.engineer_id)
        them = engineer(s, sc.world.other_engineer_id)
        expert = staff(s, sc.expert_id)
        # Not on someone else's job, not even by naming it.
        with pytest.raises(NotFound):
            service.open_consult(
                s,
                ticket=_job(s, sc.world.others_job),
                principal=me,
                question="?",
                fault_code="",
                photos=[],
                video=None,
                limits=LIMITS,
                root=tmp_path,
            )
        theirs = service.open_consult(
            s,
            ticket=_job(s, sc.world.others_job),
            principal=them,
            question="燃气灶点不着",
            fault_code="",
            photos=[],
            video=None,
            limits=LIMITS,
            root=tmp_path,
        )
        assert [c.id for c in service.visible(s, principal=me, policy=READ)] == [mine.id]
        assert [c.id for c in service.visible(s, principal=them, policy=READ)] == [theirs.id]
        assert {c.id for c in service.visible(s, principal=expert, policy=DESK)} == {
            mine.id,
            theirs.id,
        }
        with pytest.raises(NotFound):
            service.get(s, consult_id=theirs.id, principal=me, policy=READ)
        assert service.get(s, consult_id=theirs.id, principal=expert, policy=DESK) is theirs
        # A network manager of another network sees neither; the agent desk sees both.
        other_net = f.network(s, city="北京")
        manager = staff(s, f.user(s, role="network_manager", network=other_net).id)
        assert service.visible(s, principal=manager, policy=READ) == []
        agent = staff(s, f.user(s, role="agent").id)
        assert len(service.visible(s, principal=agent, policy=READ)) == 2
        # The job moves to the other engineer: its consult goes along.
        _job(s, sc.world.job).engineer_id = sc.world.other_engineer_id
        s.flush()
        assert service.visible(s, principal=me, policy=READ) == []
        # Only experts take and answer; an engineer or an agent may not.
        for who in (me, agent):
            with pytest.raises(Forbidden):
                service.take(s, consult=mine, principal=who)
        with pytest.raises(Forbidden):
            service.answer(
                s,
                consult=mine,
                principal=agent,
                text="x",
                measure="",
                photos=[],
                limits=LIMITS,
                root=tmp_path,
            )
        with pytest.raises(Forbidden):
            service.resolve(s, consult=mine, principal=agent)


def test_from_open_to_resolved_keeping_the_first_answer(
    db: Database, sc: Scene, tmp_path: Path
) -> None:
    with db.session() as s:
        consult = _open(s, sc, tmp_path)
        me = engineer(s, sc.world.engineer_id)
        first, second = staff(s, sc.expert_id), staff(s, sc.expert2_id)
        service.take(s, consult=consult, principal=first)
        assert (consult.status, consult.expert_id) == ("taken", sc.expert_id)
        with pytest.raises(Conflict) as taken:
            service.take(s, consult=consult, principal=second)
        assert taken.value.key == "consult.taken_by_other" and "王专家" in taken.value.message_zh
        with pytest.raises(Invalid):
            service.answer(
                s,
                consult=consult,
                principal=first,
                text=" ",
                measure="",
                photos=[],
                limits=LIMITS,
                root=tmp_path,
            )
        # A second expert joins in (会诊): the first answer is theirs, the owner stays.
        answer = service.answer(
            s,
            consult=consult,
            principal=second,
            text="先测主板排水泵驱动电压，应为 220V",
            measure="",
            photos=[Upload("board.jpg", JPEG)],
            limits=LIMITS,
            root=tmp_path,
        )
        assert (consult.status, consult.expert_id) == ("answered", sc.expert_id)
        assert (consult.first_answer_at, consult.first_answer_by) == (
            answer.created_at,
            sc.expert2_id,
        )
        assert answer.author_name == "孙专家" and len(answer.attachment_ids) == 1
        service.follow_up(
            s,
            consult=consult,
            principal=me,
            text="电压只有 90V",
            photos=[],
            video=None,
            limits=LIMITS,
            root=tmp_path,
        )
        assert consult.status == "taken"
        service.answer(
            s,
            consult=consult,
            principal=first,
            text="",
            measure="更换主板 BD-220",
            photos=[],
            limits=LIMITS,
            root=tmp_path,
        )
        assert (consult.status, consult.measure) == ("answered", "更换主板 BD-220")
        assert consult.first_answer_at == answer.created_at
        service.resolve(s, consult=consult, principal=me)
        assert consult.status == "resolved" and consult.resolved_by == me.actor
        with pytest.raises(Conflict):
            service.follow_up(
                s,
                consult=consult,
                principal=me,
                text="?",
                photos=[],
                video=None,
                limits=LIMITS,
                root=tmp_path,
            )
        assert [m.side for m in consult.messages] == ["engineer", "expert", "engineer", "expert"]


def test_a_new_consult_rings_every_expert_s_bell(
    db: Database, sc: Scene, tmp_path: Path, settings: object
) -> None:
    with db.session() as s:
        consult = _open(s, sc, tmp_path)
        ticket = _job(s, sc.world.job)
        flows.opened(
            s,
            consult=consult,
            ticket=ticket,
            engineer_name="李师傅",
            settings=settings,  # type: ignore[arg-type]
        )
        rows = list(
            s.scalars(
                select(Notification)
                .where(Notification.template == "consult_opened")
                .order_by(Notification.id)
            )
        )
        assert sorted(r.recipient for r in rows) == sorted(
            [f"user:{sc.expert_id}", f"user:{sc.expert2_id}"]
        )
        assert {r.channel for r in rows} == {"portal"}  # no robot configured: none queued
        assert rows[0].payload["number"] == ticket.number and rows[0].payload["code"] == "E21"
