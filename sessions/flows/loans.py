"""3. Loan-status lookup (وضعیت تسهیلات, seed 000)."""

from __future__ import annotations

from sessions.flows.base import Flow
from sessions.flows.soon import SOON
from sessions.screens import T

FLOW = Flow(
    key="loans",
    label=T("وضعیت تسهیلات", "Loan status"),
    entry="loans.start",
    nodes={"loans.start": SOON},
)
