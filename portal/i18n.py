"""The one translation layer: every user-facing sentence lives here, Chinese first."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

MESSAGES: dict[str, tuple[str, str]] = {
    # errors
    "error.not_found": ("{what}不存在", "{what} not found"),
    "error.unauthorized": ("请先登录", "Authentication required"),
    "error.forbidden": ("没有权限执行此操作", "You are not allowed to do this"),
    "error.invalid_request": ("请求数据有误，请检查标出的字段", "Invalid request, see the fields"),
    "error.idempotency_conflict": (
        "该幂等键已用于另一份不同的请求",
        "This Idempotency-Key was already used with a different request body",
    ),
    "error.bad_transition": (
        "工单当前状态为「{current}」，不能执行「{action}」",
        "The ticket is '{current_en}'; '{action_en}' is not allowed now",
    ),
    "error.bad_credentials": ("用户名或密码错误", "Wrong username or password"),
    "error.internal": ("服务器内部错误，请稍后再试", "Internal server error, please try again"),
    # validation
    "validation.missing": ("缺少必填字段「{field}」", "Missing required field '{field_en}'"),
    "validation.phone_invalid": (
        "「{field}」格式不正确，请填写11位手机号（如 13800138000）或带区号的座机号",
        "'{field_en}' is not a valid phone number (e.g. 13800138000)",
    ),
    "validation.too_long": ("「{field}」过长", "'{field_en}' is too long"),
    "validation.too_short": ("「{field}」不能为空", "'{field_en}' must not be empty"),
    "validation.invalid": ("「{field}」的值无效", "'{field_en}' has an invalid value"),
    # objects
    "object.ticket": ("工单", "Ticket"),
    "object.customer": ("客户", "Customer"),
    "object.conversation": ("会话", "Conversation"),
    # fields
    "field.phone": ("手机号", "phone"),
    "field.product": ("产品", "product"),
    "field.fault_description": ("故障描述", "fault description"),
    "field.type": ("工单类型", "ticket type"),
    "field.channel": ("渠道", "channel"),
    "field.customer_name": ("客户姓名", "customer name"),
    "field.address": ("地址", "address"),
    "field.sender": ("发送者", "sender"),
    "field.message": ("消息", "message"),
    "field.conversation_id": ("会话编号", "conversation id"),
    "field.username": ("用户名", "username"),
    "field.password": ("密码", "password"),
    # hub
    "hub.bot_unavailable": (
        "抱歉，智能客服暂时无法回复，请稍后再试，或留下您的手机号，我们会尽快联系您。",
        "Sorry, the assistant cannot answer right now. Please try again later.",
    ),
}


def t(key: str, lang: Lang = "zh", **params: object) -> str:
    """The sentence for `key` in `lang`, with its parameters filled in."""
    zh, en = MESSAGES[key]
    return (zh if lang == "zh" else en).format(**params)


def both(key: str, **params: object) -> tuple[str, str]:
    """The sentence in Chinese and English."""
    return t(key, "zh", **params), t(key, "en", **params)


def field_label(name: str) -> tuple[str, str]:
    """A field's name as users see it, Chinese and English."""
    key = f"field.{name}"
    if key in MESSAGES:
        return MESSAGES[key]
    return name, name


STATUS_LABELS: dict[str, tuple[str, str]] = {
    "new": ("待受理", "New"),
    "accepted": ("已受理", "Accepted"),
    "dispatched": ("已派单", "Dispatched"),
    "engineer_accepted": ("已接单", "Engineer accepted"),
    "departed": ("已出发", "Engineer on the way"),
    "arrived": ("已到场", "Engineer on site"),
    "waiting_parts": ("待备件", "Waiting for parts"),
    "completed": ("已完工", "Completed"),
    "evaluated": ("已评价", "Evaluated"),
    "pending_settlement": ("待结算", "Pending settlement"),
    "settled": ("已结算", "Settled"),
    "closed": ("已关闭", "Closed"),
    "cancelled": ("已取消", "Cancelled"),
}

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "create": ("创建工单", "create"),
    "accept": ("受理", "accept"),
    "resolve_remotely": ("线上一次解决", "resolve remotely"),
    "dispatch": ("派单", "dispatch"),
    "engineer_accept": ("接单", "accept the job"),
    "engineer_reject": ("拒单", "reject the job"),
    "reassign": ("改派", "reassign"),
    "depart": ("出发", "depart"),
    "arrive": ("到场", "arrive"),
    "wait_parts": ("等待备件", "wait for parts"),
    "resume": ("恢复处理", "resume"),
    "complete": ("完工", "complete"),
    "evaluate": ("评价", "evaluate"),
    "request_settlement": ("提交结算", "submit for settlement"),
    "settle": ("结算", "settle"),
    "close": ("关闭", "close"),
    "cancel": ("取消", "cancel"),
    "reopen": ("重新打开", "reopen"),
}

TICKET_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "installation": ("安装", "Installation"),
    "repair": ("维修", "Repair"),
    "maintenance": ("保养", "Maintenance"),
    "consultation": ("咨询", "Consultation"),
    "complaint": ("投诉", "Complaint"),
}

CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "web": ("网页客服", "Web chat"),
    "wechat": ("微信公众号", "WeChat"),
    "rest": ("接口", "API"),
    "portal": ("服务门户", "Portal"),
    "phone": ("电话", "Phone"),
}


def label(table: dict[str, tuple[str, str]], code: str, lang: Lang = "zh") -> str:
    """The display name of a code from one of the label tables."""
    zh, en = table.get(code, (code, code))
    return zh if lang == "zh" else en
