"""SMPP short-message bodies: GSM-7 or UCS-2, split into parts with a concatenation UDH, and the
text of a delivery receipt read back.

GSM-7 goes as the SMSC default alphabet (`data_coding` 0), one septet per octet, the way SMSCs
take it over SMPP; anything outside it (any Persian letter) makes the whole text UCS-2
(`data_coding` 8). The part sizes are `templates_sms.gsm`'s, so the budget `check` proves is the
one that goes on the air.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from templates_sms.gsm import SMS_PART, SMS_SINGLE, encoding_of

DC_DEFAULT = 0x00
DC_UCS2 = 0x08
ESM_UDHI = 0x40  # the short message starts with a user data header
ESM_RECEIPT = 0x04  # a deliver_sm that is an SMSC delivery receipt

# 3GPP TS 23.038: the basic table by septet value, and the extension table behind an escape.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D,
              "]": 0x3E, "|": 0x40, "€": 0x65}  # fmt: skip
_TO_SEPTET = {ch: i for i, ch in enumerate(_BASIC)}
_FROM_SEPTET = dict(enumerate(_BASIC))
_FROM_EXTENSION = {v: k for k, v in _EXTENSION.items()}


class TooLong(ValueError):
    """The text needs more parts than the link allows."""


@dataclass(frozen=True, slots=True)
class Body:
    data_coding: int
    parts: tuple[bytes, ...]  # each a short_message, with its UDH when there are several

    @property
    def esm_class(self) -> int:
        return ESM_UDHI if len(self.parts) > 1 else 0


def _gsm7(ch: str) -> bytes:
    ext = _EXTENSION.get(ch)
    return bytes((0x1B, ext)) if ext is not None else bytes((_TO_SEPTET[ch],))


def _units(text: str, gsm: bool) -> list[bytes]:
    """The text's characters as octets: never cut inside an escape or a surrogate pair."""
    if gsm:
        return [_gsm7(ch) for ch in text]
    return [ch.encode("utf-16-be", "surrogatepass") for ch in text]


def encode(text: str, reference: int, max_parts: int) -> Body:
    """The text as one or more short messages; `reference` (0-255) ties the parts together."""
    enc = encoding_of(text)
    gsm = enc == "gsm7"
    units = _units(text, gsm)
    # GSM-7 costs one octet a septet here; UCS-2 two a unit: the limits in octets.
    width = 1 if gsm else 2
    whole = b"".join(units)
    coding = DC_DEFAULT if gsm else DC_UCS2
    if len(whole) <= SMS_SINGLE[enc] * width:
        return Body(coding, (whole,))
    limit = SMS_PART[enc] * width
    chunks: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > limit:
            chunks.append(current)
            current = b""
        current += unit
    chunks.append(current)
    if len(chunks) > max_parts:
        raise TooLong(f"{len(chunks)} parts, over the {max_parts} allowed")
    total = len(chunks)
    ref = reference & 0xFF
    return Body(
        coding,
        tuple(bytes((0x05, 0x00, 0x03, ref, total, i)) + c for i, c in enumerate(chunks, 1)),
    )


def decode(data: bytes, data_coding: int, esm_class: int = 0) -> str:
    """A short message's text (a UDH dropped); unreadable octets become U+FFFD, never an error."""
    if esm_class & ESM_UDHI and data:
        data = data[1 + data[0] :]
    if data_coding == DC_UCS2:
        return data.decode("utf-16-be", "replace")
    if data_coding in (0x01, 0x03):  # IA5 / Latin-1
        return data.decode("latin-1")
    out: list[str] = []
    escape = False
    for octet in data:
        if escape:
            out.append(_FROM_EXTENSION.get(octet, " "))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(_FROM_SEPTET.get(octet, "\ufffd"))
    return "".join(out)


_RECEIPT_FIELD = re.compile(r"\b(id|stat|err):(\S*)", re.IGNORECASE)


def receipt_fields(text: str) -> dict[str, str]:
    """`id`, `stat` and `err` of a receipt text (`id:… sub:… stat:DELIVRD err:000 text:…`)."""
    found: dict[str, str] = {}
    for key, value in _RECEIPT_FIELD.findall(text.split(" text:", 1)[0]):
        found.setdefault(key.lower(), value)
    return found


def encode_screen(text: str) -> Body:
    """A USSD screen as one short message: never split (`check` proves every screen fits 160
    octets on the air: 182 GSM-7 septets, one an octet here, or 80 UCS-2 characters)."""
    gsm = encoding_of(text) == "gsm7"
    return Body(DC_DEFAULT if gsm else DC_UCS2, (b"".join(_units(text, gsm)),))
