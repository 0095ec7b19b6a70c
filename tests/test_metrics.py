"""`GET /metrics`: Prometheus text with request, hop, outbox and session figures, and no personal
data in any label."""

from __future__ import annotations

from pathlib import Path

from gateway.web.counters import Metrics
from gateway.web.counters_share import add_counters, all_workers, write_counters
from tests.api_helpers import bearer, call
from tests.conftest import GatewayFactory
from tests.phone import Phone


async def test_metrics_count_hops_requests_outbox_and_sessions(gateway: GatewayFactory) -> None:
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    auth = await bearer(client, "notify")
    body = {"recipients": ["09121234567", "09351112233"], "template": "keyword_help"}
    await call(client, "POST", "/v1/notifications", auth, body)
    await call(client, "GET", "/v1/registrations/0013542419", auth)  # 403: wrong scope
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert 'dargah_ussd_hops_total{dialect="africastalking",outcome="continue"} 2.0' in text
    assert 'dargah_outbox_messages{status="queued"} 2.0' in text
    assert "dargah_ussd_sessions_active 1.0" in text
    assert 'route="/v1/registrations/{national_id}",status="403"} 1.0' in text
    # Each dialect's callbacks are counted under the dialect's own route.
    assert 'method="POST",route="/ussd/africastalking",status="200"} 2.0' in text
    assert "0013542419" not in text
    assert "09121234567" not in text
    for line in text.splitlines():
        assert line.startswith("#") or float(line.rsplit(" ", 1)[1]) >= 0


def test_worker_counters_add_up_from_their_files(tmp_path: Path) -> None:
    """Workers' counters summed from their files, the scraped worker's own written first; a
    malformed file adds nothing instead of failing the scrape."""
    own = Metrics()
    own.hops[("africastalking", "continue")] = 5
    other = Metrics()
    other.hops[("africastalking", "continue")] = 7
    other.requests[("POST", "/ussd/africastalking", 200)] = 7
    write_counters(other, tmp_path / "worker-1.json")
    (tmp_path / "worker-2.json").write_text('{"requests": 5, "hops": [["x"]]}', encoding="utf-8")

    total = all_workers(own, tmp_path, tmp_path / "worker-0.json")

    assert total.hops == {("africastalking", "continue"): 12}
    assert total.requests == {("POST", "/ussd/africastalking", 200): 7}
    restarted = Metrics()  # worker 0 started again goes on from its own file
    add_counters(restarted, tmp_path / "worker-0.json")
    assert restarted.hops == own.hops
