"""SMS keywords: one table, in Persian and English, parsed after normalisation.

`وضعیت 12345678`, `status12345678`, `STATUS ۱۲۳۴۵۶۷۸` and `وضعيت ١٢٣٤٥٦٧٨` all mean the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sessions.normalize import normalize


class Command(StrEnum):
    LOAN = "loan"
    REGISTRATION = "registration"
    RESET = "reset"
    COMPLAINT = "complaint"
    REQUESTS = "requests"
    HELP = "help"


# keyword (normalised, lower case) → (command, language of the answer)
KEYWORDS: dict[str, tuple[Command, str]] = {
    "وضعیت": (Command.LOAN, "fa"),
    "status": (Command.LOAN, "en"),
    "پیگیری": (Command.REGISTRATION, "fa"),
    "reg": (Command.REGISTRATION, "en"),
    "رمز": (Command.RESET, "fa"),
    "reset": (Command.RESET, "en"),
    "اعتراض": (Command.COMPLAINT, "fa"),
    "ticket": (Command.COMPLAINT, "en"),
    "درخواست": (Command.REQUESTS, "fa"),
    "request": (Command.REQUESTS, "en"),
    "راهنما": (Command.HELP, "fa"),
    "help": (Command.HELP, "en"),
    "?": (Command.HELP, "en"),
    "؟": (Command.HELP, "fa"),
}

# The keyword is the first word; digits may follow it without a space ("status12345678").
_SPLIT = re.compile(r"^([^\s0-9]+)\s*(.*)$", re.DOTALL)
_PERSIAN = re.compile(r"[\u0600-\u06ff]")


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command
    argument: str
    lang: str
    understood: bool  # False: not a keyword; the answer is the help text


def parse(text: str) -> Parsed:
    clean = normalize(text)
    match = _SPLIT.match(clean)
    if match:
        word, rest = match.group(1).lower(), match.group(2).strip()
        if word in KEYWORDS:
            command, lang = KEYWORDS[word]
            return Parsed(command, rest, lang, True)
        # "پی‌گیری": a ZWNJ inside the keyword became a space in normalisation.
        second, _, after = rest.partition(" ")
        if word + second in KEYWORDS:
            command, lang = KEYWORDS[word + second]
            return Parsed(command, after.strip(), lang, True)
    lang = "fa" if _PERSIAN.search(clean) or not clean else "en"
    return Parsed(Command.HELP, "", lang, False)
