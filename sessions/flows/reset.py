"""2. Password reset with tracking codes (بازیابی رمز عبور, seeds 002 and 003)."""

from __future__ import annotations

from sessions.flows.base import Flow
from sessions.flows.soon import SOON
from sessions.screens import T

FLOW = Flow(
    key="reset",
    label=T("بازیابی رمز عبور", "Password reset"),
    entry="reset.start",
    nodes={"reset.start": SOON},
)
