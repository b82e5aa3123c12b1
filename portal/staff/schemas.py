"""Request and response shapes of staff accounts, 2-step verification and agent teams."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StaffRole = Literal[
    "admin",
    "agent",
    "dispatcher",
    "engineer",
    "network_manager",
    "knowledge_editor",
    "finance",
    "expert",
    "quality",
]
NetworkId = Field(default=None, ge=1, le=2**31 - 1)


class UserRead(BaseModel):
    """A staff account as admins see it (never its password or 2-step secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    network_id: int | None
    is_active: bool
    must_change_password: bool
    totp_enabled: bool
    totp_required: bool
    created_at: datetime


class UserCreate(BaseModel):
    """A new account: a network for network managers and engineers."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    username: str = Field(min_length=2, max_length=64, examples=["zhang.wei"])
    display_name: str = Field(min_length=1, max_length=100, examples=["张伟"])
    role: StaffRole
    network_id: int | None = NetworkId


class UserIssued(UserRead):
    """An account with the one-time password just set: shown this once, changed at login."""

    one_time_password: str


class UserUpdate(BaseModel):
    """Fields to change; those left out keep their values."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: StaffRole | None = None
    network_id: int | None = NetworkId


class UserActive(BaseModel):
    """Enable or disable an account."""

    model_config = ConfigDict(extra="forbid")

    active: bool


class TotpRequired(BaseModel):
    """Whether the account must use 2-step verification."""

    model_config = ConfigDict(extra="forbid")

    required: bool


class TotpStatus(BaseModel):
    """The caller's own 2-step verification."""

    enabled: bool
    required: bool
    recovery_codes_left: int


class TotpSecret(BaseModel):
    """A new secret to put into an authenticator app (not active until confirmed)."""

    secret: str
    otpauth_uri: str


class TotpConfirm(BaseModel):
    """The secret handed out and the app's current code for it."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    secret: str = Field(min_length=32, max_length=32, pattern=r"^[A-Z2-7]{32}$")
    code: str = Field(min_length=6, max_length=8)


class TotpCode(BaseModel):
    """A current code, to prove the caller still holds the app."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    code: str = Field(min_length=6, max_length=16)


class RecoveryCodes(BaseModel):
    """Single-use codes that stand in for the app's code: shown this once."""

    recovery_codes: list[str]


class PasswordChange(BaseModel):
    """The caller's own new password."""

    model_config = ConfigDict(extra="forbid")

    current: str = Field(min_length=1, max_length=200)
    new: str = Field(min_length=1, max_length=200)
    again: str = Field(min_length=1, max_length=200)


class TeamIn(BaseModel):
    """A team of the chat desk: skills (product lines; none: every product), languages and
    the chats each member holds at once. `code` is fixed once the team exists."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    code: str = Field(default="", max_length=32, examples=["aircon"])
    name: str = Field(min_length=1, max_length=100, examples=["空调专席"])
    product_lines: list[str] = Field(default_factory=list, max_length=20, examples=[["空调"]])
    languages: list[Literal["zh", "en"]] = Field(default=["zh"], min_length=1)
    max_chats: int = Field(default=3, ge=1, le=20)


class TeamMember(BaseModel):
    """A member of a team, with their own profile."""

    user_id: int
    username: str
    display_name: str
    max_chats: int
    product_lines: list[str]
    languages: list[str]
    differs: bool = Field(description="Their profile was changed apart from the team's.")


class TeamRead(BaseModel):
    """A stored team and its members."""

    id: int
    code: str
    name: str
    product_lines: list[str]
    languages: list[str]
    max_chats: int
    members: list[TeamMember]


class TeamMembers(BaseModel):
    """Exactly the team's members (agents or admins who chat)."""

    model_config = ConfigDict(extra="forbid")

    user_ids: list[int] = Field(max_length=500)
