"""4. Complaint filing (ثبت اعتراض, seeds 000, 001, 004)."""

from __future__ import annotations

from sessions.flows.base import Flow
from sessions.flows.soon import SOON
from sessions.screens import T

FLOW = Flow(
    key="complaints",
    label=T("ثبت اعتراض", "File a complaint"),
    entry="complaints.start",
    nodes={"complaints.start": SOON},
)
