"""The conversation-completion benchmark: scripted customers, judged on what they got done.

Each conversation (benchmarks/conversations/*.yaml) is a customer with a goal, written the
way customers type. Its steps are messages, or `answer` (answer whatever the bot asks from
the customer's facts: 手机/电话 -> phone, 地址 -> address, 时间 -> time, 确认 -> 对的 ...),
so the conversation is judged on its outcome, not on the order of the bot's questions.
After it, the staff API says whether it produced what it must: a new ticket with the
right type, product, phone, address, visit window and status; no ticket at all (a
question); a change to a ticket that existed (cancelled, urged, rescheduled); or the
conversation waiting in the agent queue.

File format (a list of conversations per file):

    - id: repair-ac-one-shot            # unique over all files
      about: 一句话说全的空调报修          # optional
      tags: [fault, one_shot]
      given: {ticket: {product: 洗衣机, phone: "13900000001", status: new}}  # optional
      facts: {phone: "13800138000", address: ..., time: 明天下午, product: 空调, fault: ...,
              since: 前天开始的}   # defaults: since 前天开始的, time 明天下午
      answers: [[确认, 对的]]            # optional (pattern, reply) pairs, before the defaults
      steps:
        - 空调不制冷，地址上海市浦东新区张杨路500号，电话13800138000，明天下午来
        - {if: 地址, say: 上海市浦东新区张杨路500号}   # only if the bot's last message matches
        - {answer: 10}                   # answer the bot's questions, at most 10 turns
        - {answer: 10, until: 请确认}    # ... but stop when it asks this
        - {code: "13800138000"}          # the one-time code just texted to that phone
        - {button: 洗衣机}               # press the button whose title contains this
        - {if: 哪个问题, button: E21}    # ... only if the bot's last message matches
      expect:
        ticket: {type: repair, product: 空调, phone: "13800138000",
                 address: [浦东新区, 张杨路500号], time: {day: tomorrow, part: afternoon},
                 status: new, fault: [制冷], fault_lacks: [保修]}
        # time: day today|tomorrow|day_after_tomorrow|+N|monday..sunday (that weekday, this
        # week or next), part morning|afternoon|evening|day, or hour (the window's start)
        no_ticket: true
        given_ticket: {status: cancelled, event: urge, time: {day: saturday, part: morning}}
        queued: true
        replies: [regex, ...]            # each matches some bot message
        not_replies: [regex, ...]        # none matches any bot message
        turns_at_most: 2                 # the customer sent no more messages than this

`{ticket}` and `{phone}` in any text stand for the given ticket's number and phone.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx
import yaml

from tests.e2e.chat_harness import ROOT, Customer, StaffApi

FOLDER = ROOT / "benchmarks" / "conversations"
ZONE = ZoneInfo("Asia/Shanghai")

CONVERSATION_KEYS = {"id", "about", "tags", "given", "facts", "answers", "steps", "expect"}
FACT_KEYS = {"phone", "address", "time", "product", "fault", "since", "ticket", "name"}
TICKET_KEYS = {
    "type", "product", "phone", "address", "time", "status", "fault", "fault_lacks", "model_code",
}  # fmt: skip
GIVEN_KEYS = {"type", "product", "phone", "status", "address", "time", "fault"}
GIVEN_CHANGE_KEYS = {"status", "event", "time"}
EXPECT_KEYS = {
    "ticket", "no_ticket", "given_ticket", "queued", "replies", "not_replies", "turns_at_most",
}  # fmt: skip
STEP_KEYS = {"say", "if", "answer", "until", "code", "button"}
DAYS = {"today", "tomorrow", "day_after_tomorrow"}
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
            "saturday": 5, "sunday": 6}  # fmt: skip
PARTS = {"morning": (8, 12), "afternoon": (12, 18), "evening": (18, 21), "day": (8, 20)}
GIVEN_STATUSES = {"new": [], "accepted": ["accept"]}
# What the customer answers when the bot's last message asks something, in this order
# (the summary mentions 地址 and 电话 too, so 确认 comes first). None: stop answering.
DEFAULT_ANSWERS: list[tuple[str, str | None]] = [
    # Done, or with a person: nothing left to answer (the filed notice says 电话 too).
    (r"工单号\s*SR|当前状态|已为您催单|已取消|已将工单|保持不变|正在为您转接|排在第", None),
    (r"(?i)ticket number SR|is currently|has been (cancelled|moved)|higher priority|in line", None),
    (r"请确认|回复“确认”|确认提交|确认预约", "对的"),
    (r"(?i)please confirm|reply .?confirm", "yes, that's right"),
    (r"\d ?位数字|短信里|(?i:6-digit|the code)", "{code}"),
    (r"确定要取消|回复“确定”", "确定，取消吧"),
    (r"工单号|哪一张工单|(?i:ticket number|which ticket)", "{ticket}"),
    (r"什么时候开始|从什么时候|多久了|(?i:when did)", "{fact:since}"),
    (r"手机|电话|(?i:mobile|phone number)", "{fact:phone}"),
    (r"地址|(?i:address)", "{fact:address}"),
    (r"什么时间|时间|(?i:when would|what time|which day)", "{fact:time}"),
    (r"哪种家电|什么家电|哪台家电|安装什么|(?i:which appliance|what appliance)", "{fact:product}"),
    (r"故障|具体说说|(?i:describe|what.{0,20}problem)", "{fact:fault}"),
]
# What every customer can say without it being written down.
DEFAULT_FACTS = {"since": "前天开始的", "time": "明天下午"}
ANSWER_TURNS = 10
DOWN_AFTER = 3  # conversations in a row that only got the hub's apology: Rasa is down


class LoadError(ValueError):
    """A conversation file that does not follow the format."""


@dataclass
class Script:
    """One scripted customer conversation."""

    id: str
    source: str
    steps: list[Any]
    expect: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    about: str = ""
    given: dict[str, Any] | None = None
    facts: dict[str, str] = field(default_factory=dict)
    answers: list[tuple[str, str | None]] = field(default_factory=list)

    def messages(self) -> list[str]:
        """Every text the customer may type (steps, facts, answers): for the training check."""
        out = [s if isinstance(s, str) else s.get("say", "") for s in self.steps]
        out += list(self.facts.values()) + [a for _, a in self.answers if a]
        return [m for m in out if m and "{" not in m]


# ---------------------------------------------------------------- loading


def _fail(where: str, message: str) -> LoadError:
    return LoadError(f"{where}: {message}")


def _check_time(where: str, spec: Any) -> None:
    if not isinstance(spec, dict) or not set(spec) <= {"day", "part", "hour"} or not spec:
        raise _fail(where, f"time must be {{day, part, hour}}, not {spec!r}")
    day = spec.get("day")
    if day is not None and not (
        day in DAYS or day in WEEKDAYS or re.fullmatch(r"\+\d{1,2}", str(day))
    ):
        raise _fail(where, f"unknown day {day!r}")
    if spec.get("part") is not None and spec["part"] not in PARTS:
        raise _fail(where, f"unknown part {spec['part']!r}")


def _check_step(where: str, step: Any) -> None:
    if isinstance(step, str):
        if not step.strip():
            raise _fail(where, "an empty message")
        return
    if not isinstance(step, dict) or not step or not set(step) <= STEP_KEYS:
        raise _fail(where, f"a step is a message or one of {sorted(STEP_KEYS)}: {step!r}")
    if "if" in step and "say" not in step and "button" not in step:
        raise _fail(where, "`if` goes with `say` or `button`")
    kinds = set(step) & {"say", "answer", "code", "button"}
    if len(kinds) != 1:
        raise _fail(where, f"one of say/answer/code/button per step: {step!r}")
    if "answer" in step and not (step["answer"] is True or isinstance(step["answer"], int)):
        raise _fail(where, "`answer` is true or a number of turns")
    if "until" in step and "answer" not in step:
        raise _fail(where, "`until` goes with `answer`")


def _check_ticket(where: str, spec: Any, allowed: set[str]) -> None:
    if not isinstance(spec, dict) or not spec or not set(spec) <= allowed:
        raise _fail(where, f"keys must be among {sorted(allowed)}: {spec!r}")
    if "time" in spec:
        _check_time(where, spec["time"])
    if "address" in spec and not isinstance(spec["address"], (str, list)):
        raise _fail(where, "address is a text or a list of parts")


def parse(raw: Any, source: str) -> list[Script]:
    """The conversations of one file's YAML, checked; LoadError says what is wrong where."""
    if not isinstance(raw, list) or not raw:
        raise _fail(source, "a file is a non-empty list of conversations")
    scripts = []
    for n, item in enumerate(raw, start=1):
        where = f"{source} #{n}"
        if not isinstance(item, dict):
            raise _fail(where, "a conversation is a mapping")
        where = f"{source} {item.get('id', f'#{n}')}"
        unknown = set(item) - CONVERSATION_KEYS
        if unknown:
            raise _fail(where, f"unknown keys {sorted(unknown)}")
        if not isinstance(item.get("id"), str) or not re.fullmatch(
            r"[a-z0-9][a-z0-9-]*", item["id"]
        ):
            raise _fail(where, "id must be lower-case words joined by dashes")
        steps = item.get("steps")
        if not isinstance(steps, list) or not steps:
            raise _fail(where, "steps must be a non-empty list")
        for step in steps:
            _check_step(where, step)
        facts = item.get("facts") or {}
        if not isinstance(facts, dict) or not set(facts) <= FACT_KEYS:
            raise _fail(where, f"facts must be among {sorted(FACT_KEYS)}")
        answers = item.get("answers") or []
        if not isinstance(answers, list) or not all(
            isinstance(a, list) and len(a) == 2 and isinstance(a[0], str) for a in answers
        ):
            raise _fail(where, "answers is a list of [pattern, reply] pairs")
        for pattern, _ in answers:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise _fail(where, f"bad pattern {pattern!r}: {exc}") from exc
        given = item.get("given")
        if given is not None:
            if not isinstance(given, dict) or set(given) != {"ticket"}:
                raise _fail(where, "given has one key: ticket")
            _check_ticket(where, given["ticket"], GIVEN_KEYS)
            if "phone" not in given["ticket"]:
                raise _fail(where, "the given ticket needs a phone")
            if given["ticket"].get("status", "new") not in GIVEN_STATUSES:
                raise _fail(where, f"given status must be one of {sorted(GIVEN_STATUSES)}")
        expect = item.get("expect")
        if not isinstance(expect, dict) or not expect or not set(expect) <= EXPECT_KEYS:
            raise _fail(where, f"expect needs some of {sorted(EXPECT_KEYS)}")
        if "ticket" in expect:
            _check_ticket(where, expect["ticket"], TICKET_KEYS)
        if "given_ticket" in expect:
            if given is None:
                raise _fail(where, "given_ticket needs a given ticket")
            _check_ticket(where, expect["given_ticket"], GIVEN_CHANGE_KEYS)
        if "ticket" in expect and expect.get("no_ticket"):
            raise _fail(where, "ticket and no_ticket contradict each other")
        limit = expect.get("turns_at_most")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise _fail(where, "turns_at_most is a number of customer messages")
        for key in ("replies", "not_replies"):
            if key in expect and not (
                isinstance(expect[key], list) and all(isinstance(p, str) for p in expect[key])
            ):
                raise _fail(where, f"{key} is a list of patterns")
        uses_given = "{ticket}" in yaml.safe_dump(item, allow_unicode=True)
        if uses_given and given is None and "ticket" not in facts:
            raise _fail(where, "{ticket} needs a given ticket or facts.ticket")
        scripts.append(
            Script(
                id=item["id"],
                source=source,
                steps=steps,
                expect=expect,
                tags=[str(t) for t in item.get("tags") or []],
                about=str(item.get("about") or ""),
                given=given["ticket"] if given else None,
                facts={k: str(v) for k, v in facts.items()},
                answers=[(p, None if r is None else str(r)) for p, r in answers],
            )
        )
    return scripts


def load(folder: Path = FOLDER) -> list[Script]:
    """Every conversation in the folder's YAML files; ids must be unique."""
    scripts: list[Script] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise _fail(path.name, f"not YAML: {exc}") from exc
        scripts += parse(raw, path.name)
    seen: set[str] = set()
    for script in scripts:
        if script.id in seen:
            raise _fail(script.source, f"id {script.id} is used twice")
        seen.add(script.id)
    if not scripts:
        raise LoadError(f"no conversations in {folder}")
    return scripts


# ---------------------------------------------------------------- visit windows


def expected_days(day: str, today: date) -> list[date]:
    """The dates a customer's day may mean (周六 said on a Friday: tomorrow or next week)."""
    if day == "today":
        return [today]
    if day == "tomorrow":
        return [today + timedelta(days=1)]
    if day == "day_after_tomorrow":
        return [today + timedelta(days=2)]
    if day.startswith("+"):
        return [today + timedelta(days=int(day[1:]))]
    ahead = (WEEKDAYS[day] - today.weekday()) % 7 or 7
    return [today + timedelta(days=ahead), today + timedelta(days=ahead + 7)]


WINDOW = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def window_problem(value: str, spec: dict[str, Any], today: date) -> str | None:
    """Why `value` (the ticket's preferred time) is not the window `spec` asks for."""
    found = WINDOW.search(value or "")
    if found is None:
        return f"preferred time {value!r} is not a dated window"
    when = date.fromisoformat(found.group(1))
    start, end = int(found.group(2)), int(found.group(4))
    if spec.get("day") and when not in expected_days(spec["day"], today):
        return f"preferred time {value!r}: not on {spec['day']}"
    if spec.get("part"):
        low, high = PARTS[spec["part"]]
        if not (low <= start < high and end <= high + 1):
            return f"preferred time {value!r}: not in the {spec['part']}"
    if spec.get("hour") is not None and start != int(spec["hour"]):
        return f"preferred time {value!r}: does not start at {spec['hour']}:00"
    return None


# ---------------------------------------------------------------- running


class Codes(Protocol):
    """Where the one-time codes texted to customers can be read."""

    def mark(self) -> int:
        """A position: codes sent after it are new."""
        ...

    def code_for(self, phone: str, after: int) -> str | None:
        """The newest code texted to `phone` after position `after`."""
        ...


class LogCodes:
    """Codes read from the portal's log (demo mode logs every code it sends)."""

    LINE = re.compile(r"one-time code for (\S+) is (\d{6})")

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """The log's size now."""
        return self.path.stat().st_size if self.path.exists() else 0

    def code_for(self, phone: str, after: int) -> str | None:
        """The newest code for `phone` logged after byte `after`."""
        with self.path.open("rb") as log:
            log.seek(after)
            text = log.read().decode("utf-8", "replace")
        found = [code for who, code in self.LINE.findall(text) if who == phone]
        return found[-1] if found else None


class InboxCodes:
    """Codes read from the local SMS provider (chat_harness.SmsInbox)."""

    def __init__(self, inbox: Any) -> None:
        self.inbox = inbox

    def mark(self) -> int:
        """Texts received so far."""
        return int(self.inbox.count())

    def code_for(self, phone: str, after: int) -> str | None:
        """The newest code texted to `phone` after the `after`-th text."""
        code: str | None = self.inbox.code_for(phone, after)
        return code


@dataclass
class Outcome:
    """How one conversation went."""

    script: Script
    problems: list[str]
    transcript: str
    turns: int
    seconds: float
    bot_down: bool = False  # every reply was the hub's apology for Rasa

    @property
    def passed(self) -> bool:
        """True when everything expected happened."""
        return not self.problems


class Runner:
    """Plays scripts against a running portal and judges them through the staff API."""

    def __init__(
        self, http: httpx.AsyncClient, base: str, staff: StaffApi, codes: Codes | None = None
    ) -> None:
        self.http = http
        self.base = base
        self.staff = staff
        self.codes = codes
        self.taken: set[str] = set()
        self._phones = 0

    async def run(self, script: Script) -> Outcome:
        """Set up what is given, hold the conversation, judge it."""
        started = datetime.now(ZONE)
        begin = time.monotonic()
        try:
            given = await self._given(script.given) if script.given else None
        except httpx.HTTPError as exc:
            return Outcome(script, [f"could not set up the given ticket: {exc}"], "", 0, 0.0)
        values = {
            "ticket": (given or {}).get("number", script.facts.get("ticket", "")),
            "phone": (given or {}).get("phone", script.facts.get("phone", "")),
        }
        customer = Customer(self.http, self.base)
        mark = self.codes.mark() if self.codes else 0
        problems: list[str] = []
        try:
            await self._play(script, customer, values, mark)
        except ScriptStuck as exc:
            problems.append(str(exc))
        problems += await self._judge(script, customer, given, values, started)
        answered = [t for t in customer.turns if t.replies]
        return Outcome(
            script,
            problems,
            customer.transcript(),
            len(customer.turns),
            time.monotonic() - begin,
            bot_down=bool(answered) and all(t.hub_apologised() for t in answered),
        )

    async def _given(self, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "type": spec.get("type", "repair"),
            "product": spec.get("product", "洗衣机"),
            "fault_description": spec.get("fault", "不工作了"),
            "phone": str(spec["phone"]),
            "address": spec.get("address", "上海市浦东新区张杨路500号"),
            "city": "上海",
            "district": "浦东新区",
            # The desk needs both to accept (受理) a repair. The window is 20 days ahead: no
            # day a script expects (tomorrow ... a weekday next week) can match it by chance.
            "preferred_time": spec.get("time") or _window_in(days=20),
            "fault_started": "前天",
            "channel": "phone",
        }
        ticket = await self.staff.create_ticket(body)
        for action in GIVEN_STATUSES[spec.get("status", "new")]:
            ticket = await self.staff.transition(ticket["number"], action)
        return ticket

    # ------------------------------------------------------------ the customer

    def _fill(self, text: str, script: Script, values: dict[str, str]) -> str | None:
        out = text.replace("{ticket}", values["ticket"]).replace("{phone}", values["phone"])
        for key, value in {**DEFAULT_FACTS, **script.facts}.items():
            out = out.replace("{fact:" + key + "}", value)
        if "{fact:phone}" in out and values["phone"]:
            out = out.replace("{fact:phone}", values["phone"])
        return None if re.search(r"\{fact:\w+\}", out) else out

    async def _code(self, phone: str, mark: int) -> str:
        if self.codes is None:
            raise ScriptStuck("no one-time code source (own stack, or --portal-log)")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            code = self.codes.code_for(phone, mark)
            if code:
                return code
            await asyncio.sleep(0.5)
        raise ScriptStuck(f"no one-time code was texted to {phone} within 30 s")

    async def _play(
        self, script: Script, customer: Customer, values: dict[str, str], mark: int
    ) -> None:
        for step in script.steps:
            if isinstance(step, str):
                await customer.say(self._fill(step, script, values) or step)
            elif "if" in step and not re.search(str(step["if"]), customer.last):
                continue
            elif "say" in step:
                await customer.say(self._fill(str(step["say"]), script, values) or step["say"])
            elif "code" in step:
                phone = self._fill(str(step["code"]), script, values) or ""
                await customer.say(await self._code(phone, mark))
            elif "button" in step:
                await customer.say(self._button(customer, str(step["button"])))
            else:
                turns = ANSWER_TURNS if step["answer"] is True else int(step["answer"])
                until = str(step.get("until") or "")
                await self._answer(script, customer, values, mark, turns, until)

    def _button(self, customer: Customer, title: str) -> str:
        for turn in reversed(customer.turns):
            for reply in reversed(turn.replies):
                for button in reply.buttons:
                    if title in str(button.get("title", "")):
                        return str(button.get("payload") or button.get("title"))
            if turn.replies:
                break
        raise ScriptStuck(f"no button {title!r} in the bot's last answer")

    async def _answer(
        self,
        script: Script,
        customer: Customer,
        values: dict[str, str],
        mark: int,
        turns: int,
        until: str,
    ) -> None:
        """Answer what the bot asks from the facts until it asks nothing we can answer
        (or asks what matches `until`: the script says something of its own then)."""
        asked: list[str] = []
        for _ in range(turns):
            question = customer.last
            if not customer.turns or not customer.turns[-1].replies:
                return
            if until and re.search(until, question):
                return
            reply = self._reply_to(question, script, values)
            if reply is None:
                return
            asked.append(question)
            if asked[-3:] == [question] * 3:
                raise ScriptStuck(f"the bot asked the same thing three times: {question[:60]!r}")
            if reply == "{code}":
                phone = values["phone"] or script.facts.get("phone", "")
                reply = await self._code(phone, mark)
            await customer.say(reply)

    def _reply_to(self, question: str, script: Script, values: dict[str, str]) -> str | None:
        for pattern, answer in [*script.answers, *DEFAULT_ANSWERS]:
            if re.search(pattern, question):
                if answer is None:
                    return None
                if answer == "{code}":
                    return answer
                return self._fill(answer, script, values) or None
        return None

    # ------------------------------------------------------------ the judge

    async def _judge(
        self,
        script: Script,
        customer: Customer,
        given: dict[str, Any] | None,
        values: dict[str, str],
        started: datetime,
    ) -> list[str]:
        expect = script.expect
        problems: list[str] = []
        if not customer.turns:
            return ["nothing was said"]
        broken = [t for t in customer.turns if t.status != 200]
        if broken:
            problems.append(f"the webhook answered HTTP {broken[0].status} to {broken[0].sent!r}")
        public_id = await self.staff.find_queued(customer.sent, taken=self.taken)
        queued = public_id is not None
        if public_id is not None:
            self.taken.add(public_id)
        else:
            public_id = await self.staff.find_live(customer.sent, started - timedelta(seconds=5))
        if expect.get("queued") and not queued:
            problems.append("the conversation is not in the agent queue")
        new = await self._new_tickets(started, public_id)
        today = started.date()
        if expect.get("no_ticket") and new:
            problems.append(f"a ticket was filed: {', '.join(t['number'] for t in new)}")
        if "ticket" in expect:
            problems += self._check_new(expect["ticket"], new, today)
        if "given_ticket" in expect and given is not None:
            problems += await self._check_given(expect["given_ticket"], given, started, today)
        limit = expect.get("turns_at_most")
        if limit is not None and len(customer.turns) > limit:
            problems.append(f"it took {len(customer.turns)} messages, more than {limit}")
        said = [
            text
            for turn in customer.turns
            for reply in turn.replies
            for text in (reply.text, *(str(b.get("title", "")) for b in reply.buttons))
        ]
        for pattern in expect.get("replies") or []:
            wanted = self._fill(pattern, script, values) or pattern
            if not any(re.search(wanted, t) for t in said):
                problems.append(f"no bot message matches {wanted!r}")
        for pattern in expect.get("not_replies") or []:
            unwanted = self._fill(pattern, script, values) or pattern
            hit = next((t for t in said if re.search(unwanted, t)), None)
            if hit is not None:
                problems.append(f"a bot message matches {unwanted!r}: {hit[:60]!r}")
        return problems

    async def _new_tickets(self, started: datetime, public_id: str | None) -> list[dict[str, Any]]:
        created = await self.staff.tickets(created_from=started.isoformat(), sort="created_at")
        bot_filed = [t for t in created if t["channel"] != "phone"]
        if public_id is not None:
            return [t for t in bot_filed if t.get("conversation_id") == public_id]
        return bot_filed

    def _check_new(self, spec: dict[str, Any], new: list[dict[str, Any]], today: date) -> list[str]:
        if not new:
            return ["no ticket was filed"]
        problems = []
        if len(new) > 1:
            problems.append(f"{len(new)} tickets were filed: {[t['number'] for t in new]}")
        ticket = new[0]
        label = ticket["number"]
        for key in ("type", "product", "status", "model_code"):
            if key in spec and str(ticket.get(key, "")) != str(spec[key]):
                problems.append(f"{label}: {key} is {ticket.get(key)!r}, not {spec[key]!r}")
        if "phone" in spec and ticket["phone"] != str(spec["phone"]):
            problems.append(f"{label}: phone is {ticket['phone']!r}, not {spec['phone']!r}")
        place = " ".join(str(ticket.get(k) or "") for k in ("city", "district", "address"))
        for part in _parts(spec.get("address")):
            if part not in place:
                problems.append(f"{label}: address {place.strip()!r} lacks {part!r}")
        for part in _parts(spec.get("fault")):
            if part not in ticket.get("fault_description", ""):
                problems.append(
                    f"{label}: fault {ticket.get('fault_description')!r} lacks {part!r}"
                )
        for part in _parts(spec.get("fault_lacks")):
            if part in ticket.get("fault_description", ""):
                problems.append(f"{label}: fault {ticket.get('fault_description')!r} has {part!r}")
        if "time" in spec:
            value = str((ticket.get("details") or {}).get("preferred_time") or "")
            if problem := window_problem(value, spec["time"], today):
                problems.append(f"{label}: {problem}")
        return problems

    async def _check_given(
        self, spec: dict[str, Any], given: dict[str, Any], started: datetime, today: date
    ) -> list[str]:
        ticket = await self.staff.ticket(given["number"])
        label = given["number"]
        problems = []
        if "status" in spec and ticket["status"] != spec["status"]:
            problems.append(f"{label}: status is {ticket['status']!r}, not {spec['status']!r}")
        if "event" in spec:
            actions = [
                e["action"]
                for e in ticket.get("events") or []
                if datetime.fromisoformat(e["created_at"]) >= started - timedelta(seconds=2)
            ]
            if spec["event"] not in actions:
                problems.append(f"{label}: no {spec['event']!r} event (saw {actions})")
        if "time" in spec:
            value = str((ticket.get("details") or {}).get("preferred_time") or "")
            if problem := window_problem(value, spec["time"], today):
                problems.append(f"{label}: {problem}")
        return problems


class BotDown(RuntimeError):
    """Rasa answers nothing at all: the figures would measure its absence."""


class ScriptStuck(RuntimeError):
    """The customer could not go on (no button, no code, the same question again)."""


def _window_in(*, days: int) -> str:
    """A visit window `days` from today, in the form the bot stores (2026-12-26 09:00-12:00)."""
    return f"{datetime.now(ZONE).date() + timedelta(days=days)} 09:00-12:00"


def _parts(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


async def run_scripts(
    base: str,
    scripts: list[Script],
    *,
    codes: Codes | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Play every script, one at a time (new tickets are told apart by time and transcript)."""
    async with httpx.AsyncClient(timeout=90) as http:
        staff = StaffApi(http, base)
        await staff.login()
        runner = Runner(http, base, staff, codes)
        outcomes: list[Outcome] = []
        for script in scripts:
            outcome = await runner.run(script)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
            if len(outcomes) >= DOWN_AFTER and all(o.bot_down for o in outcomes[-DOWN_AFTER:]):
                raise BotDown(f"the hub apologised for Rasa in {DOWN_AFTER} conversations in a row")
        return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """The completion rate overall and by tag, then every failed conversation."""
    done = sum(o.passed for o in outcomes)
    lines = [
        f"completed {done} of {len(outcomes)} conversations "
        f"({done / len(outcomes):.0%}); {sum(o.turns for o in outcomes)} turns"
    ]
    tags = sorted({t for o in outcomes for t in o.script.tags})
    for tag in tags:
        tagged = [o for o in outcomes if tag in o.script.tags]
        ok = sum(o.passed for o in tagged)
        lines.append(f"  {tag:<16}{ok:>3} / {len(tagged):<3}")
    failed = [o for o in outcomes if not o.passed]
    if failed:
        lines.append("\nfailed conversations:")
    for outcome in failed:
        lines.append(f"\n- {outcome.script.id} ({outcome.script.source}) {outcome.script.about}")
        lines += [f"  * {p}" for p in outcome.problems]
        lines.append(outcome.transcript)
    return "\n".join(lines)


def training_lines(folder: Path = ROOT / "bot" / "data" / "nlu") -> set[str]:
    """The bot's NLU training examples, normalised (entity markup and punctuation removed)."""
    out: set[str] = set()
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    out.add(
                        normalise(
                            re.sub(
                                r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}",
                                lambda m: m.group(1) or m.group(2) or "",
                                text,
                            )
                        )
                    )
    out.discard("")
    return out


def normalise(text: str) -> str:
    """Lower case, without spaces and punctuation: how near-copies are found."""
    return re.sub(r"[\s\W_]+", "", text.lower())
