"""What the dispatcher counts as it works, for whoever exports it (the gateway's `/metrics`).

A small interface rather than a metrics library here: the providers stay free of the gateway, and
a count is one dictionary increment on the send path."""

from __future__ import annotations

from typing import Literal, Protocol

# sent, retried (refused for now, queued on the backoff curve), failed_over (refused by a provider
# marked failing, or held by a paused one, and queued at once for the next provider that is up),
# unknown (no answer came: checked, never resent blind), failed (for good, by reason), paused (a
# provider's account fault).
Event = Literal["sent", "retried", "failed_over", "unknown", "failed", "paused"]


class DispatchStats(Protocol):
    def count(self, event: Event, label: str, n: int = 1) -> None:
        """`label` is the provider's name, or for `failed` the reason's kind."""
        ...

    def send_time(self, provider: str, seconds: float) -> None:
        """How long one call to a provider took, answered or not."""
        ...


class NoStats:
    def count(self, event: Event, label: str, n: int = 1) -> None:
        return None

    def send_time(self, provider: str, seconds: float) -> None:
        return None
