"""1. Registration tracking (پیگیری ثبت نام, seed 002)."""

from __future__ import annotations

from sessions.flows.base import Flow
from sessions.flows.soon import SOON
from sessions.screens import T

FLOW = Flow(
    key="registration",
    label=T("پیگیری ثبت‌نام", "Registration status"),
    entry="registration.start",
    nodes={"registration.start": SOON},
)
