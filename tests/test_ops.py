"""`/ops`, the operator's console: signed in with an `ops` key for a cookie session (HttpOnly,
SameSite=Strict), CSRF on every form, an idle timeout and limited tries; the outbox found and
followed, requeue and cancel, providers paused by hand until resumed, keys made without escalation
and revoked; every action in the audit trail; nothing unmasked shown."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.appkeys import DISPATCHER
from gateway.web.auth import new_api_key
from sessions.ports import ProviderState
from tests.api_helpers import call, storage
from tests.conftest import FakeClock, GatewayFactory
from tests.seed import ME, NID, add_registration
from tests.test_simulator import WebPhone

Client = TestClient[Any, Any]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def _key(client: Client, *scopes: str, name: str = "staff") -> str:
    key, record = new_api_key(name, frozenset(scopes), 0.0)
    await storage(client).add_api_key(record)
    return key


async def _csrf(client: Client, path: str) -> str:
    page = await client.get(path)
    found = CSRF.search(await page.text())
    assert found, await page.text()
    return found.group(1)


async def _login(client: Client, key: str) -> Any:
    token = await _csrf(client, "/ops/login")
    return await client.post("/ops/login", data={"csrf": token, "key": key}, allow_redirects=False)


async def _signed_in(client: Client, *scopes: str) -> str:
    resp = await _login(client, await _key(client, "ops", *scopes))
    assert resp.status == 303, await resp.text()
    return await _csrf(client, "/ops")


async def _post(client: Client, path: str, csrf: str | None, **form: Any) -> Any:
    data = {**form, **({"csrf": csrf} if csrf is not None else {})}
    return await client.post(path, data=data, allow_redirects=False)


async def test_sign_in_gives_a_strict_cookie_and_a_wrong_key_is_refused(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    first = await client.get("/ops", allow_redirects=False)
    assert (first.status, first.headers["Location"]) == (303, "/ops/login")
    api_only = await _key(client, "records", "resets", "notify", "complaints")
    for wrong in (api_only, "dgk_000000000000_" + "x" * 43, "", "' OR 1=1 --"):
        resp = await _login(client, wrong)
        assert resp.status == 401
        assert "این کلید پذیرفته نیست" in await resp.text()
    resp = await _login(client, await _key(client, "ops"))
    assert resp.status == 303
    cookie = next(v for k, v in resp.headers.items() if k == "Set-Cookie" and "dargah_ops=" in v)
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/ops" in cookie
    page = await client.get("/ops")
    assert page.status == 200
    policy = page.headers["Content-Security-Policy"]
    assert "form-action 'self'" in policy
    assert "script-src 'self'" in policy


async def test_sign_in_needs_its_csrf_token_and_tries_are_limited(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(ops_login_attempts=3)
    key = await _key(client, "ops")
    await client.get("/ops/login")
    no_token = await client.post("/ops/login", data={"key": key}, allow_redirects=False)
    assert no_token.status == 403
    for _ in range(3):
        assert (await _login(client, "dgk_wrong")).status == 401
    limited = await _login(client, key)
    assert limited.status == 429
    assert limited.headers["Retry-After"]


async def test_an_idle_session_ends(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway(ops_idle_timeout_s=300)
    csrf = await _signed_in(client)
    clock.advance(299)
    assert (await client.get("/ops", allow_redirects=False)).status == 200
    clock.advance(301)
    resp = await client.get("/ops", allow_redirects=False)
    assert resp.headers["Location"] == "/ops/login?expired=1"
    refused = await _post(client, "/ops/providers/console/pause", csrf)
    assert refused.status == 401
    assert await storage(client).provider_states() == {}


async def test_every_form_needs_the_session_csrf_token(gateway: GatewayFactory) -> None:
    client = await gateway()
    csrf = await _signed_in(client)
    for token in (None, "", "x" * 32, csrf[:-1]):
        resp = await _post(client, "/ops/providers/console/pause", token)
        assert resp.status == 403
    assert await storage(client).provider_states() == {}
    assert (await _post(client, "/ops/providers/console/pause", csrf)).status == 303


async def test_a_manual_pause_holds_until_resumed(gateway: GatewayFactory) -> None:
    client = await gateway()
    csrf = await _signed_in(client)
    assert (await _post(client, "/ops/providers/console/pause", csrf)).status == 303
    [state] = (await storage(client).provider_states()).values()
    assert (state.state, state.manual) == ("paused", True)
    await add_registration(client, status="activated")
    dispatcher = client.app[DISPATCHER]
    await dispatcher.run_once()
    assert {r["status"] for r in await storage(client).outbox_messages(ME)} == {"queued"}
    # An automatic change (a probe, a healthy answer) never lifts a pause made by hand.
    auto = ProviderState("console", "active", "", False, 0.0)
    assert not await storage(client).set_provider_state(auto)
    page = await (await client.get("/ops")).text()
    assert 'id="resume-console"' in page
    assert (await _post(client, "/ops/providers/console/resume", csrf)).status == 303
    await dispatcher.run_once()
    assert {r["status"] for r in await storage(client).outbox_messages(ME)} == {"sent"}
    assert (await _post(client, "/ops/providers/nowhere/pause", csrf)).status == 404


async def test_find_a_message_and_its_timeline_all_masked(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    phone = WebPhone(client)
    await phone.dial("ops-1")
    await phone.send("2")
    await phone.send(NID)
    await client.app[DISPATCHER].run_once()
    await _signed_in(client)
    found = await (await client.get("/ops/messages", params={"q": "۰۹۱۲۱۲۳۴۵۶۷"})).text()
    assert ME not in found
    assert "***" in found
    ids = re.findall(r'href="/ops/messages/([^"?]+)"', found)
    assert len(ids) == 2  # the registration's notice and the reset
    for message_id in ids:
        page = await (await client.get(f"/ops/messages/{message_id}")).text()
        assert 'data-code="attempt"' in page
        assert NID not in page
        assert ME not in page
        for text in re.findall(r"رمز ([A-Za-z0-9]{6,})", page):
            raise AssertionError(f"a password shown: {text}")
    by_id = await (await client.get("/ops/messages", params={"q": ids[0]})).text()
    assert ids[0] in by_id
    unknown = await client.get("/ops/messages/nope")
    assert unknown.status == 404


async def test_requeue_a_failed_notice_and_cancel_a_queued_one(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    [notice] = await storage(client).outbox_messages(ME)
    store: Any = storage(client)
    csrf = await _signed_in(client)
    url = f"/ops/messages/{notice['id']}"
    assert (
        (await _post(client, f"{url}/requeue", csrf)).headers["Location"].endswith("m=no_requeue")
    )
    assert (
        (await _post(client, f"{url}/cancel", csrf)).headers["Location"].endswith("m=done_cancel")
    )
    assert (await _post(client, f"{url}/cancel", csrf)).headers["Location"].endswith("m=no_cancel")
    async with store.db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET status = 'failed', error = 'x' WHERE id = ?", notice["id"]
        )
    assert (
        (await _post(client, f"{url}/requeue", csrf)).headers["Location"].endswith("m=done_requeue")
    )
    await client.app[DISPATCHER].run_once()
    [row] = await storage(client).outbox_messages(ME)
    assert row["status"] == "sent"
    timeline = await (await client.get(url)).text()
    for kind in ("cancelled", "requeued", "attempt"):
        assert f'data-code="{kind}"' in timeline
    [requeued] = await storage(client).find_audit(action="notifications.requeued")
    assert (requeued.target, requeued.after) == (notice["id"], {"status": "queued"})
    assert requeued.client == "staff"
    [cancelled] = await storage(client).find_audit(action="notifications.cancelled")
    assert cancelled.before == {"status": "queued"}


async def test_a_code_or_an_unknown_outcome_is_never_requeued(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    phone = WebPhone(client)
    await phone.dial("ops-2")
    await phone.send("2")
    await phone.send(NID)
    store: Any = storage(client)
    async with store.db.transaction() as tx:
        await tx.execute("UPDATE outbox SET status = 'failed', error = 'expired', sealed = NULL")
        await tx.execute("UPDATE outbox SET error = 'unknown_outcome' WHERE priority <> 0")
    csrf = await _signed_in(client)
    for row in await storage(client).outbox_messages(ME):
        resp = await _post(client, f"/ops/messages/{row['id']}/requeue", csrf)
        assert resp.headers["Location"].endswith("m=no_requeue")
    assert {r["status"] for r in await storage(client).outbox_messages(ME)} == {"failed"}


async def test_keys_made_without_escalation_shown_once_and_revoked(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    csrf = await _signed_in(client, "records")
    for scopes in (["ops"], ["notify"], ["records", "ops"], []):
        resp = await client.post("/ops/keys", data=[("csrf", csrf), ("name", "x"),
                                                    *(("scope", s) for s in scopes)])  # fmt: skip
        assert "new-key" not in await resp.text()
    made = await client.post("/ops/keys", data=[("csrf", csrf), ("name", "portal"),
                                                ("scope", "records")])  # fmt: skip
    html = await made.text()
    [key] = re.findall(r'id="new-key" class="ltr">(dgk_[^<]+)<', html)
    auth = {"Authorization": f"Bearer {key}"}
    assert (await call(client, "GET", "/v1/registrations/" + NID, auth))[0] == 404
    listed = await (await client.get("/ops/keys")).text()
    assert key not in listed  # shown once only
    key_id = key.split("_")[1]
    assert (await _post(client, f"/ops/keys/{key_id}/revoke", csrf)).status == 303
    assert (await call(client, "GET", "/v1/registrations/" + NID, auth))[0] == 401
    audit = await (await client.get("/ops/audit")).text()
    for action in (
        "ops_sessions.created",
        "api_keys.created",
        "api_keys.revoked",
        "api_keys.refused",
    ):
        assert action in audit
    assert key not in audit


async def test_revoking_the_signed_in_key_ends_its_session(gateway: GatewayFactory) -> None:
    client = await gateway()
    key = await _key(client, "ops")
    assert (await _login(client, key)).status == 303
    csrf = await _csrf(client, "/ops")
    resp = await _post(client, f"/ops/keys/{key.split('_')[1]}/revoke", csrf)
    assert resp.status == 303
    assert (await client.get("/ops", allow_redirects=False)).status == 303


HOSTILE = ["\x00", "a\x00b", "٠٩١٢\u200c١٢٣٤٥٦٧", "%00", "' OR 1=1 --", "\ud7ff", "A" * 5000,
           "[" * 5000, "<script>x</script>", "..%2f..%2f"]  # fmt: skip


async def test_hostile_input_never_breaks_the_console(gateway: GatewayFactory) -> None:
    client = await gateway()
    csrf = await _signed_in(client, "records")
    for bad in HOSTILE:
        quoted = bad.replace("%", "%25").replace("/", "%2F").replace("?", "%3F")
        answers = [
            await client.get("/ops/messages", params={"q": bad}),
            await client.get("/ops/messages/" + quoted.encode("utf-8", "surrogatepass")
                             .decode("utf-8", "replace")),
            await _post(client, "/ops/messages/" + quoted.encode("utf-8", "surrogatepass")
                        .decode("utf-8", "replace") + "/cancel", csrf),
            await _post(client, "/ops/keys", csrf, name=bad, scope="records"),
            await _post(client, "/ops/keys/" + quoted[:60] + "/revoke", csrf),
            await _post(client, "/ops/providers/" + quoted[:60] + "/pause", csrf),
            await client.get("/simulator/inbox", params={"msisdn": bad}),
            await client.post("/ops/login", data={"csrf": bad, "key": bad}),
        ]  # fmt: skip
        for resp in answers:
            assert resp.status < 500, (bad[:20], resp.url, await resp.text())
            assert "<script>x" not in await resp.text()


async def test_hops_a_minute_by_dialect(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway()
    await _signed_in(client)
    first = await (await client.get("/ops")).text()
    assert "data-dialect" not in first  # no hop yet, and no span to measure over
    phone = WebPhone(client)
    await phone.dial("ops-rate")
    await phone.send("2")
    await phone.send("0")
    clock.advance(30)
    page = await (await client.get("/ops")).text()
    [rate] = re.findall(r'data-dialect="json">([^<]+)<', page)
    assert float(rate) == 6.0  # three hops in half a minute
