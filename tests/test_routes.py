"""The routing table by operator prefix: the domain's default, GATEWAY_SMS_ROUTES, its errors."""

from __future__ import annotations

import json

import pytest

from providers.routes import default_table, parse_routes


@pytest.mark.parametrize(
    ("number", "route"),
    [("09121234567", "mci"), ("09901234567", "mci"), ("09961234567", "mci"),
     ("09351234567", "irancell"), ("09011234567", "irancell"), ("09411234567", "irancell"),
     ("09201234567", "rightel"), ("09231234567", "rightel"), ("09981234567", "default"),
     ("09311234567", "default")],
)  # fmt: skip
def test_the_domains_operator_prefixes(number: str, route: str) -> None:
    table = default_table("kavenegar", "smsir", ["mci"])
    assert table.route_for(number).name == route
    expected = ("smpp:mci", "kavenegar", "smsir") if route == "mci" else ("kavenegar", "smsir")
    assert table.route_for(number).providers == expected


def test_routes_longest_prefix_wins_and_caps_their_own_throughput() -> None:
    raw = json.dumps(
        [
            {"name": "mci", "prefixes": ["091"], "providers": ["smpp"], "rate_per_s": 20},
            {"name": "vip", "prefixes": ["09121"], "providers": ["kavenegar"]},
        ]
    )
    table = parse_routes(raw, "console", None, smpp="smpp:mci")
    assert table is not None
    assert table.route_for("09121234567").name == "vip"
    assert table.route_for("09131234567").providers == ("smpp:mci",)
    assert table.route_for("09351234567").providers == ("console",)
    assert set(table.limiters) == {"mci"}
    assert table.limiters["mci"].rate == 20.0
    assert table.provider_names() == ["smpp:mci", "kavenegar", "console"]
    assert parse_routes("  ", "console", None) is None


@pytest.mark.parametrize(
    "bad",
    [
        "{",
        "[" * 100_000,
        "{}",
        json.dumps([{"name": "x", "prefixes": ["0912"]}]),
        json.dumps([{"name": "x", "prefixes": ["912"], "providers": ["console"]}]),
        json.dumps([{"name": "x", "prefixes": ["0912"], "providers": ["twilio"]}]),
        json.dumps(
            [{"name": "x", "prefixes": ["0912"], "providers": ["console"], "rate_per_s": 0}]
        ),
        json.dumps([{"name": "X!", "prefixes": ["0912"], "providers": ["console"]}]),
        json.dumps([{"name": "x", "prefixes": ["0912"], "providers": ["console"], "extra": 1}]),
        json.dumps([{"name": "x", "prefixes": ["0912"], "providers": ["console"]}] * 2),
    ],
)
def test_bad_routes_are_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="GATEWAY_SMS_ROUTES"):
        parse_routes(bad, "console", None)
