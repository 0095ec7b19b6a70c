"""What a citizen service declares: its menu label, its entry node and its nodes, as data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sessions.engine import Node
from sessions.screens import Screen, T


def _no_samples() -> Iterable[Screen]:
    return ()


@dataclass(frozen=True, slots=True)
class Flow:
    key: str
    label: T
    entry: str
    nodes: Mapping[str, Node]
    # Worst-case screens built from records at run time, so `check` can prove they fit.
    samples: Callable[[], Iterable[Screen]] = field(default=_no_samples)
