"""A session's state: where the caller is in the menu, what they entered, the pages shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sessions.screens import Lang

HOME = "home"


@dataclass(slots=True)
class State:
    node: str = HOME
    lang: Lang = "fa"
    data: dict[str, str] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    page: int = 0
    tries: int = 0
    ending: bool = False  # the current screen ends the session after its last page
    saved: dict[str, Any] | None = None  # a cut-off session offered for resumption

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than dataclasses.asdict, which deep-copies and costs 5% of a hop.
        return {
            "node": self.node,
            "lang": self.lang,
            "data": dict(self.data),
            "stack": list(self.stack),
            "pages": list(self.pages),
            "page": self.page,
            "tries": self.tries,
            "ending": self.ending,
            "saved": self.saved,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> State:
        """From what `to_dict` wrote (a missing key takes its default, as a state stored by an
        older version may lack one). The lists and the dict are `raw`'s own, not copies: `raw`
        is a state decoded afresh for this hop, or a saved state its holder lets go of
        (`State.saved` is cleared or replaced by the new state's `to_dict`, which copies)."""
        lang = raw.get("lang", "fa")
        return cls(
            node=str(raw.get("node", HOME)),
            lang=cast(Lang, lang if lang in ("fa", "en") else "fa"),
            data=raw.get("data") or {},
            stack=raw.get("stack") or [],
            pages=raw.get("pages") or [],
            page=int(raw.get("page", 0)),
            tries=int(raw.get("tries", 0)),
            ending=bool(raw.get("ending", False)),
            saved=raw.get("saved"),
        )

    @property
    def resumable(self) -> bool:
        """Mid-flow: somewhere other than the main menu, on a screen that waits for input."""
        return self.node != HOME and not self.ending and bool(self.pages)
