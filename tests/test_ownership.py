"""Every notification belongs to the client that asked for it (the name its keys were created
under): another client's key gets 404 as for an id that does not exist, and the list shows only
the caller's own, filtered and keyset-paged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_helpers import Client, bearer, call
from tests.conftest import FakeClock, GatewayFactory

NUMBERS = ["09121234567", "09351112233", "09901234567"]


async def _send(client: Client, auth: dict[str, str], number: str, code: str = "482913") -> str:
    body = {"recipient": number, "template": "activation_code", "params": {"code": code}}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert status == 202, answer
    found: str = answer["notifications"][0]["id"]
    return found


async def test_another_clients_key_cannot_read_or_cancel_a_notification(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    mine = await bearer(client, "notify", name="portal")
    theirs = await bearer(client, "notify", name="other-portal")
    sent = await _send(client, mine, NUMBERS[0])

    status, answer = await call(client, "GET", f"/v1/notifications/{sent}", theirs)
    assert (status, answer["code"]) == (404, "not_found")
    missing = await call(client, "GET", "/v1/notifications/123456789012345678", theirs)
    assert missing[1] == answer  # the same answer as for no such message
    status, _ = await call(client, "DELETE", f"/v1/notifications/{sent}", theirs)
    assert status == 404
    status, page = await call(client, "GET", "/v1/notifications", theirs)
    assert (status, page["items"]) == (200, [])

    # A rotated key, created under the same name, is the same client.
    rotated = await bearer(client, "notify", name="portal")
    status, found = await call(client, "GET", f"/v1/notifications/{sent}", rotated)
    assert (status, found["id"], found["status"]) == (200, sent, "queued")


@pytest.fixture
async def three(
    gateway: GatewayFactory, clock: FakeClock
) -> tuple[Client, dict[str, str], list[str]]:
    client = await gateway()
    auth = await bearer(client, "notify", name="portal")
    ids = []
    for number in NUMBERS:
        ids.append(await _send(client, auth, number))
        clock.advance(86_400)  # one a day
    other = await bearer(client, "notify", name="other-portal")
    await _send(client, other, NUMBERS[0])
    return client, auth, ids


async def _list(client: Client, auth: dict[str, str], query: str) -> tuple[int, Any]:
    return await call(client, "GET", f"/v1/notifications{query}", auth)


async def test_the_list_is_the_callers_own_newest_first_with_filters(
    three: tuple[Client, dict[str, str], list[str]],
) -> None:
    client, auth, ids = three
    status, page = await _list(client, auth, "")
    assert status == 200
    assert [n["id"] for n in page["items"]] == ids[::-1]
    assert page["next_cursor"] is None
    # A number in any accepted form, Persian digits too.
    _, page = await _list(
        client, auth, "?recipient=%2B98%DB%B9%DB%B3%DB%B5%DB%B1%DB%B1%DB%B1%DB%B2%DB%B2%DB%B3%DB%B3"
    )
    assert [n["id"] for n in page["items"]] == [ids[1]]
    _, page = await _list(client, auth, "?status=queued&template=activation_code")
    assert len(page["items"]) == 3
    _, page = await _list(client, auth, "?status=delivered")
    assert page["items"] == []
    _, page = await _list(client, auth, "?template=password_reset")
    assert page["items"] == []
    # The clock starts on 1404/09/01 (2025-11-22): a Jalali day, and an ISO window.
    _, page = await _list(client, auth, "?from=1404/09/02&to=1404/09/02")
    assert [n["id"] for n in page["items"]] == [ids[1]]
    _, page = await _list(client, auth, "?from=2025-11-23T00:00:00%2B03:30")
    assert [n["id"] for n in page["items"]] == [ids[2], ids[1]]


async def test_the_list_is_keyset_paged(three: tuple[Client, dict[str, str], list[str]]) -> None:
    client, auth, ids = three
    seen: list[str] = []
    query = "?limit=2"
    while True:
        status, page = await _list(client, auth, query)
        assert status == 200
        seen += [n["id"] for n in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"?limit=2&cursor={page['next_cursor']}"
    assert seen == ids[::-1]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?cursor=nonsense", "cursor"), ("?status=lost", "status"), ("?recipient=12", "recipient"),
     ("?from=1404/13/40", "from"), ("?limit=0", "limit"), ("?owner=x", "owner")],
)  # fmt: skip
async def test_a_bad_filter_is_a_400_naming_it(
    three: tuple[Client, dict[str, str], list[str]], query: str, field: str
) -> None:
    client, auth, _ = three
    status, answer = await _list(client, auth, query)
    assert status == 400
    assert answer["field"] == field
