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
    "error.too_many_logins": (
        "登录失败次数过多，请{minutes}分钟后再试",
        "Too many failed logins; try again in {minutes} minutes",
    ),
    "error.code_too_soon": (
        "验证码发送过于频繁，请1分钟后再试",
        "Please wait a minute before asking for another code",
    ),
    "error.code_invalid": ("验证码错误或已过期", "The code is wrong or has expired"),
    "error.unknown_action": ("未知操作「{action}」", "Unknown action '{action}'"),
    "error.unknown_engineer": ("工程师不存在", "No such engineer"),
    "error.unknown_network": ("网点不存在", "No such service network"),
    "error.other_network": ("只能派给本网点的工程师", "You can only assign within your network"),
    "error.reopen_window": (
        "完工已超过{days}天，不能重新打开，请新建工单",
        "Completed more than {days} days ago; please open a new ticket",
    ),
    "error.file_empty": ("文件为空", "The file is empty"),
    "error.file_too_large": ("文件不能超过 {mb} MB", "The file must be at most {mb} MB"),
    "error.file_type": (
        "只支持 JPG、PNG、GIF、WEBP 图片和 PDF 文件",
        "Only JPG, PNG, GIF, WEBP images and PDF files are accepted",
    ),
    "error.unknown_model": ("型号不存在", "No such product model"),
    "error.unknown_customer": ("客户不存在", "No such customer"),
    "error.unknown_address": ("地址不存在或不属于该客户", "No such address for this customer"),
    "error.serial_taken": ("该序列号已登记", "This serial number is already registered"),
    "error.internal": ("服务器内部错误，请稍后再试", "Internal server error, please try again"),
    # validation
    "validation.missing": ("缺少必填字段「{field_zh}」", "Missing required field '{field_en}'"),
    "validation.phone_invalid": (
        "「{field_zh}」格式不正确，请填写11位手机号（如 13800138000）或带区号的座机号",
        "'{field_en}' is not a valid phone number (e.g. 13800138000)",
    ),
    "validation.too_long": ("「{field_zh}」过长", "'{field_en}' is too long"),
    "validation.too_short": ("「{field_zh}」不能为空", "'{field_en}' must not be empty"),
    "validation.invalid": ("「{field_zh}」的值无效", "'{field_en}' has an invalid value"),
    # objects
    "object.ticket": ("工单", "Ticket"),
    "object.customer": ("客户", "Customer"),
    "object.conversation": ("会话", "Conversation"),
    "object.attachment": ("附件", "Attachment"),
    "object.asset": ("设备", "Asset"),
    "object.network": ("网点", "Service network"),
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
    "field.model_code": ("型号", "model"),
    "field.serial_number": ("序列号", "serial number"),
    "field.fault_started": ("故障开始时间", "when the fault started"),
    "field.urgency": ("紧急程度", "urgency"),
    "field.preferred_time": ("期望上门时间", "preferred visit time"),
    "field.action": ("操作", "action"),
    "field.engineer_id": ("工程师", "engineer"),
    "field.network_id": ("网点", "network"),
    "field.score": ("评分", "score"),
    "field.reason": ("原因", "reason"),
    "field.body": ("内容", "text"),
    "field.file": ("文件", "file"),
    "field.code": ("验证码", "code"),
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
    "request_evaluation": ("发起回访评价", "request evaluation"),
    "escalate": ("升级", "escalate"),
    "urge": ("催单", "urge"),
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
