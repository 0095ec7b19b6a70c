"""SMPP bodies without a socket: GSM-7 and UCS-2, the concatenation UDH, receipts' text, and the
GATEWAY_SMPP_LINKS setting (whose errors never quote a value)."""

from __future__ import annotations

import json

import pytest

from gateway.smpp_settings import parse_smpp_links
from providers.smpp_codes import classify
from providers.smpp_text import (
    DC_DEFAULT,
    DC_UCS2,
    ESM_UDHI,
    TooLong,
    decode,
    encode,
    receipt_fields,
)


def test_gsm7_one_septet_an_octet_with_extension_escapes() -> None:
    body = encode("a{b}€", 7, 6)
    assert (body.data_coding, body.esm_class) == (DC_DEFAULT, 0)
    assert body.parts == (b"a\x1b\x28b\x1b\x29\x1b\x65",)
    assert decode(body.parts[0], DC_DEFAULT) == "a{b}€"


def test_gsm7_splits_at_153_never_inside_an_escape() -> None:
    text = "x" * 152 + "€" + "y" * 10
    body = encode(text, 9, 6)
    assert len(body.parts) == 2
    assert body.esm_class == ESM_UDHI
    first, second = body.parts
    assert first[:6] == b"\x05\x00\x03\x09\x02\x01"
    assert len(first) - 6 == 152
    assert second[:6] == b"\x05\x00\x03\x09\x02\x02"
    assert decode(first, 0, ESM_UDHI) + decode(second, 0, ESM_UDHI) == text


def test_ucs2_single_and_split_keeps_surrogate_pairs_whole() -> None:
    assert encode("سلام", 1, 6).parts == ("سلام".encode("utf-16-be"),)
    text = "س" * 66 + "😀" + "ب" * 10  # the emoji would straddle 67
    body = encode(text, 300, 6)  # the reference wraps to one octet
    assert body.data_coding == DC_UCS2
    first, second = body.parts
    assert first[3] == 300 % 256
    assert len(first) - 6 == 132
    assert (first[6:] + second[6:]).decode("utf-16-be") == text


def test_a_text_over_the_parts_allowed_is_refused() -> None:
    with pytest.raises(TooLong):
        encode("ب" * 71, 1, 1)


def test_undecodable_bytes_never_raise() -> None:
    assert decode(b"\xff\x1b\x99", DC_DEFAULT) == "\ufffd "
    assert decode(b"\xd8", DC_UCS2) == "\ufffd"
    assert decode(b"\x05", 0, ESM_UDHI) == ""  # a UDH longer than the message


def test_receipt_text_fields() -> None:
    text = (
        "id:ab12 sub:001 dlvrd:001 submit date:2612051200 done date:2612051201 stat:DELIVRD "
        "err:000 text:id:zz stat:REJECTD"
    )
    assert receipt_fields(text) == {"id": "ab12", "stat": "DELIVRD", "err": "000"}


@pytest.mark.parametrize(
    ("status", "kind"),
    [(0x58, "retryable"), (0x14, "retryable"), (0x0E, "account"), (0x0D, "account"),
     (0x0B, "destination"), (0x01, "permanent"), (0x4321, "retryable")],
)  # fmt: skip
def test_command_status_table(status: int, kind: str) -> None:
    assert classify(status)[0] == kind


LINK = {"name": "mci", "host": "h", "port": 2775, "system_id": "esme", "password": "pw123456"}


def test_links_parse_with_defaults() -> None:
    [link] = parse_smpp_links(json.dumps([LINK]), 300.0)
    assert (link.name, link.window, link.rate_per_s, link.max_parts) == ("mci", 10, 50.0, 6)
    assert link.mo_window_s == 300.0
    assert "pw123456" not in repr(link)


@pytest.mark.parametrize(
    "bad",
    [
        "[{",
        "[" * 100_000,
        json.dumps({"name": "x"}),
        json.dumps([{**LINK, "password": ""}]),
        json.dumps([{**LINK, "password": "pw1234567890"}]),  # over SMPP's 8 octets
        json.dumps([{**LINK, "port": "2775"}]),
        json.dumps([{**LINK, "port": 0}]),
        json.dumps([{**LINK, "name": "MCI!"}]),
        json.dumps([{**LINK, "window": 0}]),
        json.dumps([{**LINK, "rate_per_s": -1}]),
        json.dumps([{**LINK, "pasword": "pw123456"}]),
        json.dumps([LINK, LINK]),
    ],
)
def test_bad_links_are_refused_without_quoting_them(bad: str) -> None:
    with pytest.raises(ValueError, match="GATEWAY_SMPP_LINKS") as caught:
        parse_smpp_links(bad)
    assert "pw123456" not in str(caught.value)
    assert "pw1234567890" not in str(caught.value)
