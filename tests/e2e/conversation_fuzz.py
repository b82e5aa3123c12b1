"""The conversation fuzzer: seeded random walks of customers through every flow of the bot,
on the real stack, with invariants checked on every turn.

Each conversation is a new REST sender. It opens a flow (fault report, installation, ticket
follow-up, FAQ, handoff, English, noise ...), then at every turn either answers what the
bot just asked the way a cooperative customer would, or sends something from the pool of
ordinary inputs: bare digits, 嗯/好/哦, emoji, punctuation, a 2,000-character message,
English, FAQ questions mid-form, addresses, phone numbers, times, ticket numbers that exist
and that do not, follow-ups, the universal exits and the handoff words. Conversation `k` of
seed `s` draws from `random.Random(f"{s}:{k}")` and its own copy of the pool, so on a fresh
stack the same seed sends the same messages to the same bot; the transcript kept with every
violation is its reproduction.

The rules (RULES) are what issue 16 says must hold: no 5xx, 1-3 replies a turn and never
silent outside a human takeover, no message twice in a turn nor twice in a row, 转人工 and
its synonyms reach the agent queue within the turn (checked through the staff API), and
after 取消 / 算了 / ... inside a form the bot asks no form question.

Used by tests/e2e/test_conversation_fuzz.py (a short run) and benchmarks/conversation_fuzz.py.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tests.e2e.chat_harness import (
    ROOT,
    Customer,
    StaffApi,
    Turn,
    bot_responses,
    fragment,
)

RULES = {
    "http_error": "the webhook answered with an error (5xx) or not at all",
    "silent": "no reply at all outside a human takeover",
    "too_many_replies": "more than 3 replies in one turn",
    "repeat_in_turn": "the same message twice in one turn",
    "repeat_across_turns": "the turn's first message repeats the previous turn's last one",
    "handoff_not_queued": "a handoff request did not reach the agent queue within the turn",
    "form_not_left": "after an exit word inside a form the bot asked a form question again",
}

FILED = re.compile(r"工单号\s*(SR\d{8}-\d{4})")
# The hub's apology this many turns in a row: Rasa is down, the run says so and stops.
DOWN_AFTER = 20
HANDOFF = ("转人工", "人工", "客服", "人工客服", "找真人", "我要找人工", "human", "agent")
EXITS = ("取消", "算了", "不报了", "不用了", "重新开始", "我只是问问")

# ---------------------------------------------------------------- the pool of inputs

DIGITS = ["1", "2", "3", "4", "5", "0", "12", "138", "99", "100000"]
FILLERS = [
    "嗯",
    "好",
    "哦",
    "对",
    "是的",
    "不是",
    "?",
    "？？",
    "👍",
    "😡",
    "。。。",
    "！",
    "……",
    "嗯嗯",
]
_LONG_UNIT = (
    "我家的滚筒洗衣机从上个月开始就不太正常，洗到一半会突然停下来，"
    "面板上显示一个代码我也看不懂，重启以后又能转一会儿，然后又停，衣服泡在里面都臭了，"
)
LONG = (_LONG_UNIT * (2000 // len(_LONG_UNIT) + 1))[:2000]
ENGLISH = [
    "hi, my washing machine is broken, it won't drain",
    "washing machine",
    "hello",
    "my air conditioner is not cooling",
    "how long is the warranty?",
    "I want to book an installation",
    "can you send someone tomorrow afternoon",
]
GREETINGS = ["你好", "您好", "在吗", "哈喽", "有人吗", "早上好"]
THANKS = ["谢谢", "好的谢谢", "多谢", "thanks", "辛苦了"]
MID_FORM_QUESTIONS = [
    "对了，你们保修期一般多久？",
    "顺便问一下，上门费怎么收？",
    "等下，师傅上门要带配件吗",
    "那个E21是什么意思啊",
    "修一次大概多少钱？",
    "安装要收费吗",
    "空调不制冷怎么办",
]
FAULTS = [
    "洗衣机漏水了，派人来修",
    "空调不制冷",
    "冰箱冷藏室不凉了",
    "热水器打不着火，一直响",
    "油烟机声音特别大",
    "洗衣机显示E21排不了水",
    "电视突然黑屏了",
    "燃气灶点不着",
    "热水器坏了要报修",
    "我家空调内机一直往下滴水",
]
INSTALLS = [
    "我要装空调",
    "新买了热水器，约个安装",
    "想预约安装洗衣机",
    "油烟机什么时候能来装",
    "买了台冰箱，帮我约一下安装",
]
ONE_SHOTS = [
    "空调不制冷，地址上海市浦东新区张杨路500号，电话13800138000，明天下午来",
    "洗衣机不脱水了，我在杭州市西湖区文三路90号，手机13600136000，周六上午有人",
    "要装一台热水器，北京市朝阳区建国路88号2号楼1501，15012345678，后天上午",
]
ADDRESSES = [
    "上海市浦东新区张杨路500号",
    "北京市朝阳区建国路88号2号楼1501",
    "杭州市西湖区文三路90号",
    "浦东新区世纪大道1号",
    "广州天河区体育西路123号5楼",
    "住在静安区南京西路1266号",
    "地址是成都市武侯区天府大道中段666号",
    "沪闵路",
]
# Not the phones other e2e tests count tickets by (13912345678, 13911112222, 13987654321):
# they share the session's stack.
PHONES = ["13800138000", "13600136000", "15012345678", "+86 138 0013 8000", "186-1234-5678"]
BAD_PHONES = ["1380013800", "12345678901", "138001380001", "电话010", "手机号不告诉你"]
TIMES = [
    "明天下午",
    "周六上午",
    "后天晚上",
    "下周三",
    "明天9点",
    "今天晚上",
    "随便什么时候都行",
    "明早",
]
TICKET_OPS = [
    "查进度",
    "查一下我的工单",
    "催一下",
    "怎么还没人来",
    "取消工单",
    "我要取消报修",
    "改约",
    "改一下上门时间",
    "单号忘了",
    "给我评个分吧",
]
MISSING_TICKETS = [
    "SR20200101-9999",
    "查一下工单SR20200101-9999，手机13800000000",
    "SR99999999-0001的进度",
]
CONFIRMS = ["对", "确认", "没问题", "对的", "是的，提交吧"]
CORRECTIONS = [
    "地址写错了",
    "电话写错了，是13600136000",
    "时间改一下",
    "不对，是冰箱",
    "地址写错了，应该是上海市徐汇区漕溪北路88号",
]
PRODUCTS = ["洗衣机", "空调", "冰箱", "热水器", "油烟机", "滚筒", "挂机", "洗碗机", "微波炉"]
PREFIXES = ["", "", "请问", "想问下", "你好，", "问一下，", "我想知道"]
SUFFIXES = ["", "？", "呢", "啊", "？？"]
SWAPS = [("是什么意思", "啥意思"), ("怎么办", "咋办"), ("多少钱", "要多少钱啊"), ("吗？", "不？")]


def faq_questions(folder: Path = ROOT / "knowledge_base" / "faq") -> list[str]:
    """The FAQ's questions and alternates (Chinese and English), as editors wrote them."""
    out: list[str] = []
    for path in sorted(folder.rglob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if isinstance(entry, dict) and entry.get("question"):
                out.append(str(entry["question"]))
                out += [str(a) for a in entry.get("alternates") or []]
    return out


def paraphrase(question: str, rng: random.Random) -> str:
    """A customer's way of asking an FAQ question: another opening, a colloquial word."""
    text = question.strip()
    if re.search(r"[A-Za-z]{3}", text) and not re.search(r"[\u4e00-\u9fff]", text):
        return text.lower().rstrip("?") + rng.choice(["", "?", " please"])
    for formal, casual in SWAPS:
        if formal in text and rng.random() < 0.5:
            text = text.replace(formal, casual)
    text = text.rstrip("？?")
    return rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)


@dataclass
class KnownTicket:
    """A ticket that exists, and the phone that proves it (empty when not known)."""

    number: str
    phone: str = ""


def _chooser(items: list[str]) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(items)


class Pool:
    """Everything a customer may type, by category, with the weights of a random pick."""

    def __init__(self, faq: list[str], tickets: list[KnownTicket]) -> None:
        self.faq = faq
        self.tickets = tickets
        static: dict[str, list[str]] = {
            "digits": DIGITS,
            "filler": FILLERS,
            "english": ENGLISH,
            "greeting": GREETINGS,
            "thanks": THANKS,
            "mid_form_question": MID_FORM_QUESTIONS,
            "fault": FAULTS,
            "installation": INSTALLS,
            "one_shot": ONE_SHOTS,
            "address": ADDRESSES,
            "phone": PHONES,
            "bad_phone": BAD_PHONES,
            "time": TIMES,
            "ticket_op": TICKET_OPS,
            "missing_ticket": MISSING_TICKETS,
            "exit": list(EXITS),
            "handoff": list(HANDOFF),
            "confirm": CONFIRMS,
            "correction": CORRECTIONS,
            "product": PRODUCTS,
        }
        self.generators: dict[str, Callable[[random.Random], str]] = {
            name: _chooser(items) for name, items in static.items()
        }
        self.generators["long"] = lambda rng: LONG
        self.generators["faq"] = lambda rng: paraphrase(rng.choice(self.faq), rng)
        self.generators["existing_ticket"] = self._existing
        self.weights = {
            "digits": 6, "filler": 10, "long": 1, "english": 4, "greeting": 3, "thanks": 3,
            "faq": 7, "mid_form_question": 5, "fault": 5, "installation": 3, "one_shot": 2,
            "address": 4, "phone": 5, "bad_phone": 2, "time": 4, "ticket_op": 5,
            "existing_ticket": 4, "missing_ticket": 2, "exit": 6, "handoff": 3, "confirm": 4,
            "correction": 3, "product": 3,
        }  # fmt: skip
        # How conversations open: each flow, and the noise customers open with.
        self.openers = {
            "fault": 8, "installation": 4, "one_shot": 3, "ticket_op": 5, "existing_ticket": 3,
            "missing_ticket": 2, "faq": 6, "greeting": 3, "english": 3, "handoff": 2,
            "filler": 3, "digits": 2, "long": 1,
        }  # fmt: skip

    def _existing(self, rng: random.Random) -> str:
        if not self.tickets:
            return rng.choice(MISSING_TICKETS)
        ticket = rng.choice(self.tickets)
        forms = ["{n}", "查一下{n}", "工单{n}怎么样了", "催一下{n}", "{n}，手机{p}", "取消{n}"]
        return rng.choice(forms).format(n=ticket.number, p=ticket.phone or rng.choice(PHONES))

    def pick(self, rng: random.Random, weights: dict[str, int] | None = None) -> tuple[str, str]:
        """A random category (by weight) and a message from it."""
        table = weights or self.weights
        names = list(table)
        name = rng.choices(names, weights=[table[n] for n in names])[0]
        return name, self.generators[name](rng)

    def learn(self, turn: Turn) -> None:
        """Ticket numbers the bot announced become tickets that exist."""
        known = {t.number for t in self.tickets}
        for number in announced(turn):
            if number not in known:
                self.tickets.append(KnownTicket(number))
                known.add(number)


def announced(turn: Turn) -> list[str]:
    """Ticket numbers the bot gave out in this turn (工单号 SR…, not the format's example)."""
    return [n for text in turn.texts for n in FILED.findall(text)]


# ---------------------------------------------------------------- answering the bot

# (what the bot's last message asks, the category of a cooperative answer); first match wins.
ANSWERS: list[tuple[re.Pattern[str], list[str]]] = [
    (re.compile(r"请确认|回复“确认”|确认提交"), ["confirm", "confirm", "confirm", "correction"]),
    (re.compile(r"哪一项需要修改"), ["which_field"]),
    (re.compile(r"什么时候开始|从什么时候|(?i:when did)"), ["since"]),
    (re.compile(r"\d ?位数字|短信里"), ["code"]),
    (re.compile(r"工单号|哪一张工单"), ["existing_ticket", "existing_ticket", "missing_ticket"]),
    (re.compile(r"确定要取消|不取消"), ["cancel_answer"]),
    (re.compile(r"打分|评分|分数"), ["score"]),
    (re.compile(r"想对我们说"), ["comment"]),
    (re.compile(r"手机|电话|(?i:mobile|phone number)"), ["phone", "phone", "phone", "bad_phone"]),
    (re.compile(r"地址|(?i:address)"), ["address"]),
    (re.compile(r"什么时间|时间|(?i:when would|what time)"), ["time"]),
    (re.compile(r"哪种家电|什么家电|哪台家电|(?i:which appliance)"), ["product"]),
    (re.compile(r"故障|具体说说|(?i:describe)"), ["fault"]),
    (re.compile(r"是否解决"), ["solved"]),
]
EXTRA_ANSWERS: dict[str, list[str]] = {
    "which_field": ["地址", "电话", "时间", "上门地址", "家电"],
    "cancel_answer": ["确定", "不取消", "确定取消"],
    "score": ["5", "4", "1", "五星", "非常满意"],
    "comment": ["没有", "师傅很专业", "来得太晚了"],
    "solved": ["解决了", "没有解决", "还是不行"],
    "since": ["昨天", "前天开始的", "有一个星期了", "刚刚", "不记得了"],
}


def cooperative(rng: random.Random, pool: Pool, turn: Turn | None) -> tuple[str, str] | None:
    """What a customer who goes along would answer to the bot's last message, if it asks."""
    if turn is None or not turn.replies:
        return None
    last = turn.replies[-1]
    if last.buttons and rng.random() < 0.5:
        button = rng.choice(last.buttons)
        return "button", str(button.get("payload") or button.get("title") or "")
    for pattern, categories in ANSWERS:
        if pattern.search(last.text):
            name = rng.choice(categories)
            if name == "code":
                return name, rng.choice([f"{rng.randrange(10**6):06d}", "没收到", "重发"])
            if name in EXTRA_ANSWERS:
                return name, rng.choice(EXTRA_ANSWERS[name])
            return name, pool.generators[name](rng)
    return None


# ---------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Violation:
    """One broken rule, with what it takes to see it again."""

    rule: str
    seed: int
    conversation: int
    turn: int  # 1-based
    detail: str
    sent: tuple[str, ...]  # the customer's messages up to and including that turn
    transcript: str


class FormQuestions:
    """Recognises the bot's form questions (asks, summaries, re-asks) by their wording in
    bot/domain, so the rule follows the bot's texts as they change."""

    NAMES = re.compile(
        r"^utter_(ask_|summary_|confirm_hint|cancel_confirm_hint|invalid_phone|address_incomplete"
        r"|time_|fault_description_too_vague|otp_format|otp_wrong|rating_invalid"
        r"|ticket_number_invalid)"
    )

    def __init__(self) -> None:
        self.fragments = sorted(
            {
                fragment(text)
                for name, texts in bot_responses().items()
                if self.NAMES.match(name)
                for text in texts
                if len(fragment(text)) >= 6
            }
        )

    def asks(self, text: str) -> bool:
        """True if `text` is one of the forms' questions."""
        return any(f in text for f in self.fragments)


def turn_violations(turn: Turn, previous: Turn | None, forms: FormQuestions) -> list[str]:
    """The rules one turn breaks by itself, as `rule: detail` (the queue is checked apart)."""
    found: list[str] = []
    if turn.status != 200:
        found.append(f"http_error: HTTP {turn.status} {turn.error}".rstrip())
        return found
    texts = [t for t in turn.texts if t]
    if not turn.replies:
        found.append("silent: no reply")
    if len(turn.replies) > 3:
        found.append(f"too_many_replies: {len(turn.replies)} replies")
    repeated = sorted({t for t, n in Counter(texts).items() if n > 1})
    if repeated:
        found.append(f"repeat_in_turn: {repeated[0][:80]!r} ×{Counter(texts)[repeated[0]]}")
    before = [t for t in previous.texts if t] if previous is not None else []
    if texts and before and texts[0] == before[-1]:
        found.append(f"repeat_across_turns: {texts[0][:80]!r}")
    if (
        turn.sent in EXITS
        and before
        and forms.asks(before[-1])
        and (asked := next((t for t in texts if forms.asks(t)), None))
    ):
        found.append(f"form_not_left: {asked[:80]!r}")
    return found


# ---------------------------------------------------------------- the walk


@dataclass
class FuzzResult:
    """What a run did and found."""

    seed: int
    turns: int = 0
    conversations: int = 0
    seconds: float = 0.0
    queued: int = 0
    hub_apologies: int = 0
    tickets_announced: int = 0
    openers: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    aborted: str = ""  # why the run stopped early (the bot is not there at all)

    def by_rule(self) -> dict[str, list[Violation]]:
        """The violations grouped by rule, in RULES order."""
        out: dict[str, list[Violation]] = {}
        for rule in RULES:
            found = [v for v in self.violations if v.rule == rule]
            if found:
                out[rule] = found
        return out


class Fuzzer:
    """Runs seeded conversations against the stack at `base` until the turn budget is spent."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base: str,
        staff: StaffApi,
        *,
        seed: int,
        pool: Pool,
        progress: Callable[[FuzzResult], None] | None = None,
    ) -> None:
        self.http = http
        self.base = base
        self.staff = staff
        self.seed = seed
        self.pool = pool
        self.forms = FormQuestions()
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:6]
        self.taken: set[str] = set()  # queued conversations already matched to a sender
        self.result = FuzzResult(seed=seed)
        self._next = 0
        self._apologies_in_a_row = 0
        self._budget = 0
        self._deadline = 0.0

    async def run(self, *, turns: int, concurrency: int = 2, max_seconds: float = 0) -> FuzzResult:
        """Send about `turns` messages over `concurrency` simultaneous conversations."""
        self._budget = turns
        start = time.monotonic()
        self._deadline = start + max_seconds if max_seconds else float("inf")
        await asyncio.gather(*(self._worker() for _ in range(concurrency)))
        self.result.seconds = time.monotonic() - start
        return self.result

    def _spent(self) -> bool:
        return (
            self.result.turns >= self._budget
            or time.monotonic() >= self._deadline
            or bool(self.result.aborted)
        )

    async def _worker(self) -> None:
        while not self._spent():
            index = self._next
            self._next += 1
            await self.conversation(index)

    async def conversation(self, index: int) -> None:
        """Conversation `index` of this seed: an opener, then answers and random inputs."""
        rng = random.Random(f"{self.seed}:{index}")
        # Its own pool: tickets other conversations filed meanwhile do not change its draws.
        pool = Pool(self.pool.faq, list(self.pool.tickets))
        customer = Customer(self.http, self.base, sender=f"fuzz-{self.run_id}-{self.seed}-{index}")
        self.result.conversations += 1
        length = rng.randint(3, 12)
        previous: Turn | None = None
        dead = False
        for step in range(length):
            if self._spent():
                break
            if step == 0:
                category, text = pool.pick(rng, pool.openers)
                self.result.openers[category] += 1
            else:
                answer = cooperative(rng, pool, previous) if rng.random() < 0.55 else None
                category, text = answer or pool.pick(rng)
            turn = await customer.say(text)
            self.result.turns += 1
            self.result.latencies.append(turn.seconds)
            pool.learn(turn)
            if turn.hub_apologised():
                self.result.hub_apologies += 1
                self._apologies_in_a_row += 1
                if self._apologies_in_a_row >= DOWN_AFTER:
                    self.result.aborted = (
                        f"stopped: the hub apologised for Rasa {DOWN_AFTER} turns in a row "
                        "(is Rasa running?)"
                    )
            else:
                self._apologies_in_a_row = 0
            self.result.tickets_announced += len(announced(turn))
            found = turn_violations(turn, previous, self.forms)
            queued = False
            wants_person = text in HANDOFF or "/request_human" in text  # word or button
            if turn.status == 200 and (wants_person or turn.queued() or not turn.replies):
                public_id = await self._queued(customer, wait=wants_person)
                queued = public_id is not None
                if wants_person and not queued:
                    found.append(f"handoff_not_queued: replies {turn.texts!r}"[:200])
                if queued and not turn.replies:
                    # A takeover: the agents answer, silence from the bot is right.
                    found = [f for f in found if not f.startswith("silent")]
            for item in found:
                rule, _, detail = item.partition(": ")
                self._record(rule, detail, index, customer, step)
            if self.progress is not None and self.result.turns % 25 == 0:
                self.progress(self.result)
            if queued:
                self.result.queued += 1
                return  # the agents have it now: the next customer is a new sender
            if dead or turn.status != 200:
                return
            dead = not turn.replies  # one more turn to see whether it comes back, then stop
            previous = turn

    async def _queued(self, customer: Customer, *, wait: bool) -> str | None:
        """The conversation's public id if it waits in the agent queue (claimed once)."""
        for attempt in range(3 if wait else 1):
            public_id = await self.staff.find_queued(customer.sent, taken=self.taken)
            if public_id is not None:
                self.taken.add(public_id)
                return public_id
            if attempt < 2 and wait:
                await asyncio.sleep(0.3)
        return None

    def _record(self, rule: str, detail: str, index: int, customer: Customer, step: int) -> None:
        self.result.violations.append(
            Violation(
                rule=rule,
                seed=self.seed,
                conversation=index,
                turn=step + 1,
                detail=detail,
                sent=tuple(customer.sent[: step + 1]),
                transcript=customer.transcript(step + 1),
            )
        )


async def known_tickets(staff: StaffApi, *, at_least: int = 4) -> list[KnownTicket]:
    """Tickets that exist (the demo's, read through the staff API), topped up to
    `at_least` by entering some as the desk would (the minimal demo data has none)."""
    existing = [
        KnownTicket(t["number"], t["phone"])
        for t in await staff.tickets(sort="-created_at")
        if t["status"] not in ("closed", "cancelled")
    ][:20]
    products = ["洗衣机", "空调", "冰箱", "热水器"]
    for n in range(len(existing), at_least):
        ticket = await staff.create_ticket(
            {
                "type": "repair",
                "product": products[n % len(products)],
                "fault_description": "不工作了（模糊测试的已有工单）",
                "phone": f"1391000{n:04d}",
                "address": "上海市浦东新区张杨路500号",
                "city": "上海",
                "district": "浦东新区",
                "channel": "phone",
            }
        )
        existing.append(KnownTicket(ticket["number"], ticket["phone"]))
    return existing


async def fuzz(
    base: str,
    *,
    seed: int,
    turns: int,
    concurrency: int = 2,
    max_seconds: float = 0,
    progress: Callable[[FuzzResult], None] | None = None,
) -> FuzzResult:
    """Log in as the demo agent, gather the tickets that exist, run the walk."""
    limits = httpx.Limits(max_connections=concurrency + 8)
    async with httpx.AsyncClient(limits=limits, timeout=90) as http:
        staff = StaffApi(http, base)
        await staff.login()
        pool = Pool(faq_questions(), await known_tickets(staff))
        fuzzer = Fuzzer(http, base, staff, seed=seed, pool=pool, progress=progress)
        return await fuzzer.run(turns=turns, concurrency=concurrency, max_seconds=max_seconds)


def report(result: FuzzResult, *, examples: int = 1) -> str:
    """The figures, then per rule its count and the shortest reproduction."""
    rate = result.turns / result.seconds if result.seconds else 0.0
    lines = [
        f"seed {result.seed}: {result.turns} turns, {result.conversations} conversations, "
        f"{len(result.violations)} violations, {rate:.2f} turns/s "
        f"({result.seconds:.0f} s); {result.queued} reached the queue, "
        f"{result.tickets_announced} ticket announcements, "
        f"{result.hub_apologies} hub apologies (Rasa failed)",
    ]
    if result.aborted:
        lines.append(result.aborted)
    for rule, found in result.by_rule().items():
        conversations = len({v.conversation for v in found})
        lines.append(
            f"\n[{rule}] {RULES[rule]}: {len(found)} turns in {conversations} conversations"
        )
        shortest = sorted(found, key=lambda v: (v.turn, sum(map(len, v.sent))))[:examples]
        for v in shortest:
            lines.append(
                f"  reproduce: seed {v.seed} conversation {v.conversation} turn {v.turn}: "
                f"{v.detail}\n  messages: {' | '.join(m[:60] for m in v.sent)}\n{v.transcript}"
            )
    return "\n".join(lines)
