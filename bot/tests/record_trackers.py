"""Record the trackers the action tests replay (bot/tests/trackers/*.json).

Starts the fake portal, the action server and Rasa with the current model, plays each
conversation below through the REST channel (metadata {"channel": "web"}, as the hub
sends it) and saves GET /conversations/<id>/tracker. Run again after changing the
conversations or the model; the tests replay the files, they never start Rasa.

    .venv-bot/bin/python bot/tests/record_trackers.py --model "$(python3 scripts/bot_model.py)"
    .venv-bot/bin/python bot/tests/record_trackers.py --model ... --only installation_conversation
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
BOT = HERE.parent
sys.path.insert(0, str(HERE))

from fake_portal import TOKEN, FakePortal, Served  # noqa: E402

Setup = Callable[[FakePortal, str], None]


def _nothing(portal: FakePortal, sender: str) -> None:
    pass


def _tickets(portal: FakePortal, sender: str) -> None:
    portal.add_ticket(
        "SR20261120-0031",
        "13800138000",
        status="departed",
        engineer_name="王师傅",
        engineer_phone="13600001111",
        eta_text="11月23日 16:00",
    )
    portal.add_ticket("SR20261118-0102", "13800138000", status="arrived", customer="c2")
    portal.add_ticket("SR20261115-0009", "13800138000", status="completed", customer="c2")


def _bound(portal: FakePortal, sender: str) -> None:
    _tickets(portal, sender)
    portal.bind(sender)


def _kb_answer(portal: FakePortal, sender: str) -> None:
    portal.kb = {
        "band": "answer",
        "results": [
            {
                "id": "fee-visit-only",
                "question": "师傅上门检查了但是我不修，要付钱吗？",
                "answer": "保修期内检测免费；保修期外不修只收上门费 50 元。",
                "score": 0.92,
                "band": "answer",
            },
        ],
    }


def _kb_suggest(portal: FakePortal, sender: str) -> None:
    portal.kb = {
        "band": "suggest",
        "results": [
            {
                "id": "wm-e21",
                "question": "洗衣机显示 E21 是什么故障？",
                "answer": "E21 表示排水超时…",
                "score": 0.61,
                "band": "suggest",
            },
            {
                "id": "wm-e30",
                "question": "洗衣机显示 E30 是什么故障？",
                "answer": "E30 表示门锁异常…",
                "score": 0.55,
                "band": "suggest",
            },
        ],
    }


def _handoff_on(portal: FakePortal, sender: str) -> None:
    portal.handoff_status = 202


# name -> (fake portal setup, messages). A message starting with "/" is a button payload.
CONVERSATIONS: dict[str, tuple[Setup, list[str]]] = {
    "fault_report_conversation": (
        _nothing,
        [
            "你好",
            "我的洗衣机坏了",
            "坏了",
            "不转了，一直响",
            "1380013800",
            "13800138000",
            "电话写错了，是13800138001",
            "对的",
            "有",
            "空调不制冷",
            "13912345678",
            "保修期多久",
            "确认",
            "没了谢谢",
        ],
    ),
    "unsupported_product_conversation": (
        _nothing,
        [
            "洗碗机坏了",
            "洗碗机",
            "冰箱",
            "冰箱不制冷了",
            "13700001111",
            "算了不报了",
        ],
    ),
    "bound_fault_report_conversation": (
        _bound,
        [
            "热水器不出热水",
            "上海市浦东新区世纪大道100号",
            "地址写错了",
            "上海市徐汇区漕溪北路398号2号楼1503室",
            "/affirm",
        ],
    ),
    "installation_conversation": (
        _nothing,
        [
            "我想预约装空调 KFR-35GW",
            "家里",
            "上海市浦东新区张江路88号3栋1201室",
            "随便",
            "明天下午",
            "13800138000",
            "时间改一下",
            "后天上午",
            "确认",
        ],
    ),
    "ticket_conversation": (
        _tickets,
        [
            "查进度",
            "SR20261120-0031",
            "13900000000",
            "SR20261120-0031",
            "13800138000",
            "催一下",
            "改到明天下午",
            "取消SR20261118-0102",
            "取消工单",
            "SR20261120-0031",
            "对",
            "评价一下",
            "SR20261115-0009",
            "5分",
            "师傅很专业",
        ],
    ),
    "bound_ticket_conversation": (
        _bound,
        [
            "你好",
            "查进度",
            "取消工单",
            "不取消了",
        ],
    ),
    "faq_conversation": (
        _kb_answer,
        [
            "检查了不修要钱吗",
            "解决了",
            "上门费多少",
            "没有",
            "转人工",
        ],
    ),
    "faq_suggest_conversation": (
        _kb_suggest,
        [
            "洗衣机显示E21什么意思",
            '/ask_faq{"kb_choice": "0"}',
            "没解决",
        ],
    ),
    "bind_code_conversation": (
        _tickets,
        [
            "查一下我的维修进度",
            "不记得单号了",
            "13800138000",
            "12345",
            "000000",
            "246810",
            "帮我催一下",
        ],
    ),
    "bind_code_cancel_conversation": (
        _tickets,
        [
            "我要取消工单",
            '/inform{"proof_method": "code"}',
            "13800138000",
            "没收到",
            "246810",
            "对",
        ],
    ),
    "session_start_conversation": (_bound, ["/session_start", "查进度"]),
    "handoff_conversation": (
        _handoff_on,
        [
            "我要投诉你们师傅",
            "今天天气怎么样",
            "给我讲个笑话",
        ],
    ),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(f"record_trackers: {url} did not come up")


def record(model: str, names: list[str] | None) -> None:
    """Play the conversations and write their trackers."""
    rasa = Path(sys.executable).parent / "rasa"
    portal = FakePortal()
    with Served(portal) as fake, tempfile.TemporaryDirectory() as tmp:
        actions_port, rasa_port = _free_port(), _free_port()
        env = dict(
            os.environ,
            PORTAL_URL=fake.url,
            PORTAL_SERVICE_TOKEN=TOKEN,
            ACTION_SERVER_SECRET=secrets.token_urlsafe(24),
            RASA_TELEMETRY_ENABLED="false",
            ACTION_SERVER_URL=f"http://127.0.0.1:{actions_port}/webhook",
            TRACKER_STORE_DIALECT="sqlite",
            TRACKER_STORE_DB=f"{tmp}/tracker.db",
        )
        log = open(Path(tmp) / "servers.log", "w")  # noqa: SIM115 - closed after the servers stop
        servers = [
            subprocess.Popen(
                [sys.executable, "-m", "actions.server", "--port", str(actions_port)],
                cwd=BOT,
                env=env,
                stdout=log,
                stderr=log,
            ),
            subprocess.Popen(
                [
                    str(rasa),
                    "run",
                    "--enable-api",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(rasa_port),
                    "--model",
                    model,
                    "--endpoints",
                    str(BOT / "endpoints.yml"),
                    "--credentials",
                    str(BOT / "credentials.yml"),
                ],
                cwd=BOT.parent,
                env=env,
                stdout=log,
                stderr=log,
            ),
        ]
        try:
            _wait(f"http://127.0.0.1:{actions_port}/health")
            _wait(f"http://127.0.0.1:{rasa_port}/status")
            for name, (setup, messages) in CONVERSATIONS.items():
                if names and name not in names:
                    continue
                sender = f"rec-{name}"
                portal.__init__()  # a fresh fake per conversation, same address
                portal.url = fake.url
                setup(portal, sender)
                for text in messages:
                    reply = requests.post(
                        f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
                        json={"sender": sender, "message": text, "metadata": {"channel": "web"}},
                        timeout=60,
                    ).json()
                    print(f"{name}: {text!r} -> {[r.get('text') for r in reply]}")
                tracker = requests.get(
                    f"http://127.0.0.1:{rasa_port}/conversations/{sender}/tracker", timeout=30
                ).json()
                out = HERE / "trackers" / f"{name}.json"
                out.write_text(
                    json.dumps(tracker, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
                )
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)
            log.close()


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--only", nargs="*", help="record only these conversations")
    args = parser.parse_args()
    record(args.model, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
