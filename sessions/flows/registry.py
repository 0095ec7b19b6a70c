"""The services of the main menu, in the order DESIGN.md fixes: 1 registration, 2 reset,
3 loans, 4 complaints, then 5 the caller's own requests. Another service is one module and one
line here (and the Persian main menu is full: its labels fill its one page to the character)."""

from __future__ import annotations

from collections.abc import Sequence

from sessions.engine import Engine, Node
from sessions.flows import complaints, loans, mine, registration, reset
from sessions.flows.base import Flow
from sessions.flows.home import home_nodes

SERVICES: tuple[Flow, ...] = (
    registration.FLOW,
    reset.FLOW,
    loans.FLOW,
    complaints.FLOW,
    mine.FLOW,
)


def all_nodes(flows: Sequence[Flow] = SERVICES) -> dict[str, Node]:
    nodes: dict[str, Node] = dict(home_nodes(flows))
    for flow in flows:
        for name, node in flow.nodes.items():
            if name in nodes:
                raise ValueError(f"node {name!r} is declared twice")
            nodes[name] = node
    return nodes


def build_engine(flows: Sequence[Flow] = SERVICES) -> Engine:
    return Engine(all_nodes(flows))
