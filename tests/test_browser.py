"""The pages in Debian's Chromium (tests/browser.py): a whole password reset on the web phone, the
password read in its inbox and verified through the API; the landing page and the docs at a
phone's width. Screenshots of each page are saved under the run's temporary directory."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import Gateway, browser, screenshots, wait_for

__all__ = ["browser", "screenshots"]  # module-scoped fixtures: one browser for the module

SECRET = re.compile(r"کد رهگیری (\d{8}) رمز ([A-Za-z0-9]+) تخصیص")
NATIONAL_ID = "0012345679"  # the demo's activated registration, on 09121234567


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("live"), dispatch_interval_s=0.1)
    try:
        yield gateway
    finally:
        gateway.close()


def _by_id(driver: Any, name: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, name)


def _all(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, css))


def _screen_changes(driver: Any, before: str) -> str:
    found = wait_for(
        lambda: ((t := _by_id(driver, "screen").text) != before and t) or None, 10, "a new screen"
    )
    return str(found)


def _press(driver: Any, keys: str) -> str:
    """Types on the keypad, presses Send, waits for the next screen."""
    before = _by_id(driver, "screen").text
    for key in keys:
        _all(driver, f'.keypad .key[data-key="{key}"]')[0].click()
    _by_id(driver, "send").click()
    return _screen_changes(driver, before)


def _dial(driver: Any) -> str:
    before = _by_id(driver, "screen").text
    _by_id(driver, "dial").click()
    return _screen_changes(driver, before)


def test_password_reset_on_the_web_phone(browser: Any, live: Gateway, screenshots: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    driver = browser
    driver.set_window_size(1280, 900)
    driver.get(f"{live.base}/simulator")
    assert driver.find_element("tag name", "html").get_attribute("dir") == "rtl"
    assert _by_id(driver, "msisdn").get_attribute("value") == "09121234567"
    driver.save_screenshot(str(screenshots / "simulator-idle.png"))

    home = _dial(driver)
    assert "۲" in home  # the main menu, numbered in Persian
    asked = _press(driver, "2")
    # The national ID typed on the keyboard in Persian digits, sent with Enter.
    answer = _by_id(driver, "answer")
    answer.send_keys("۰۰۱۲۳۴۵۶۷۹")
    answer.send_keys(Keys.ENTER)
    done = _screen_changes(driver, asked)
    wait_for(lambda: "ended" in (_by_id(driver, "screen").get_attribute("class") or ""), 5, "end")
    assert _by_id(driver, "answer").get_attribute("disabled") is not None

    def password() -> str | None:
        for item in _all(driver, "#inbox li.sms .text"):
            found = SECRET.search(item.text)
            if found:
                return found.group(2)
        return None

    secret = wait_for(password, 15, "the reset SMS in the inbox")
    assert secret not in done  # the screen never shows it; only the inbox does
    driver.save_screenshot(str(screenshots / "simulator-reset-inbox.png"))

    status, body = live.api(
        "POST", "/v1/password-resets/verify", {"national_id": NATIONAL_ID, "password": secret}
    )
    assert (status, body) == (200, {"valid": True})


def test_a_dropped_call_resumes_on_the_web_phone(
    browser: Any, live: Gateway, screenshots: Path
) -> None:
    driver = browser
    driver.get(f"{live.base}/simulator")
    _dial(driver)
    menu = _press(driver, "3")
    _by_id(driver, "drop").click()
    wait_for(lambda: _by_id(driver, "drop").get_attribute("disabled") is not None, 5, "the drop")
    offer = _dial(driver)
    assert offer != menu
    driver.save_screenshot(str(screenshots / "simulator-resume-offer.png"))
    assert _press(driver, "1") == menu


def test_landing_page_and_docs_at_a_phone_width(
    browser: Any, live: Gateway, screenshots: Path
) -> None:
    driver = browser
    driver.set_window_size(390, 844)
    try:
        driver.get(f"{live.base}/")
        links = [a.get_attribute("href") for a in _all(driver, "ul.cards a")]
        assert links == [f"{live.base}/docs", f"{live.base}/simulator", f"{live.base}/ops"]
        driver.save_screenshot(str(screenshots / "home-fa-390.png"))
        _all(driver, "a.lang")[0].click()
        wait_for(lambda: driver.find_element("tag name", "html").get_attribute("dir") == "ltr",
                 5, "the English page")  # fmt: skip
        driver.save_screenshot(str(screenshots / "home-en-390.png"))

        driver.get(f"{live.base}/docs")
        wait_for(lambda: _all(driver, "details.tag"), 10, "the docs to render")
        tags = _all(driver, "details.tag")
        assert all(t.get_attribute("open") is None for t in tags)  # folded by tag
        driver.get(f"{live.base}/docs#resets")
        wait_for(lambda: _all(driver, "details.tag[open]"), 10, "the linked tag to open")
        [op] = _all(driver, "#resets details.op")
        op.find_element("tag name", "summary").click()
        examples = [p.text for p in op.find_elements("css selector", "pre")]
        assert any("POST /v1/password-resets/verify" in e for e in examples)
        assert any('"valid"' in e for e in examples)  # the response example
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone: long blocks scroll inside
        driver.save_screenshot(str(screenshots / "docs-390.png"))
    finally:
        driver.set_window_size(1280, 900)


def _fetch_status(driver: Any, path: str, body: str) -> int:
    """A POST from the signed-in page itself (its cookie goes along), without the form."""
    script = (
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', body: new URLSearchParams(arguments[1]),"
        " redirect: 'manual'}).then((r) => done(r.status));"
    )
    return int(driver.execute_async_script(script, path, body))


def _status_of(driver: Any, base: str, message_id: str) -> str:
    driver.get(f"{base}/ops/messages/{message_id}")
    return str(_all(driver, "table.message .status")[0].get_attribute("data-code"))


def test_operator_console(browser: Any, live: Gateway, screenshots: Path) -> None:
    driver = browser
    driver.get(f"{live.base}/ops")
    assert driver.current_url == f"{live.base}/ops/login"
    # A wrong key is refused.
    _by_id(driver, "key").send_keys("dgk_000000000000_" + "x" * 43)
    _by_id(driver, "login").click()
    wait_for(lambda: _all(driver, ".flash.error"), 5, "the refusal")
    assert "پذیرفته نیست" in _all(driver, ".flash.error")[0].text
    assert not driver.get_cookie("dargah_ops")
    driver.save_screenshot(str(screenshots / "ops-login-refused.png"))

    _by_id(driver, "key").send_keys(live.key)
    _by_id(driver, "login").click()
    wait_for(lambda: driver.current_url.startswith(f"{live.base}/ops?"), 5, "the overview")
    cookie = driver.get_cookie("dargah_ops")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert _by_id(driver, "state-console").get_attribute("data-code") == "active"
    driver.save_screenshot(str(screenshots / "ops-overview.png"))

    # A form posted without its CSRF token is refused, and changes nothing.
    assert _fetch_status(driver, "/ops/providers/console/pause", "") == 403
    driver.refresh()
    assert _by_id(driver, "state-console").get_attribute("data-code") == "active"

    # The reset SMS of the web phone test (or the demo's notices) found by number, masked.
    driver.get(f"{live.base}/ops/messages")
    _by_id(driver, "q").send_keys("۰۹۱۲۱۲۳۴۵۶۷")
    _by_id(driver, "find").click()
    wait_for(lambda: _all(driver, "table.found tbody tr"), 5, "the messages found")
    page = driver.find_element("tag name", "main").text
    assert "09121234567" not in page
    assert "0912***4567" in page
    rows = _all(driver, "table.found tbody tr")
    reset = next((r for r in rows if "password_reset" in r.text), rows[0])
    reset.find_element("tag name", "a").click()
    wait_for(lambda: _all(driver, "table.timeline"), 5, "the timeline")
    steps = [c.get_attribute("data-code") for c in _all(driver, "table.timeline [data-code]")]
    assert steps[:3] == ["queued", "attempt", "sent"]
    assert "تلاش ارسال" in _all(driver, "table.timeline")[0].text  # in Persian words
    assert "0012345679" not in driver.page_source
    driver.save_screenshot(str(screenshots / "ops-timeline.png"))

    # Paused by hand: a new message waits.
    driver.get(f"{live.base}/ops")
    _by_id(driver, "pause-console").click()
    wait_for(
        lambda: _by_id(driver, "state-console").get_attribute("data-code") == "paused",
        5,
        "the pause",
    )
    driver.save_screenshot(str(screenshots / "ops-paused.png"))
    status, body = live.api("POST", "/v1/notifications", {
        "recipient": "09011234567", "template": "activation_code", "params": {"code": "482913"},
    })  # fmt: skip
    assert status == 202, body
    message_id = body["notifications"][0]["id"]
    time.sleep(1.0)  # ten dispatcher intervals
    assert _status_of(driver, live.base, message_id) == "queued"
    assert "482913" not in driver.page_source
    driver.save_screenshot(str(screenshots / "ops-message-waits.png"))

    # Resumed: it goes.
    driver.get(f"{live.base}/ops")
    _by_id(driver, "resume-console").click()
    wait_for(
        lambda: _by_id(driver, "state-console").get_attribute("data-code") == "active",
        5,
        "the resume",
    )
    wait_for(lambda: _status_of(driver, live.base, message_id) == "sent", 10, "the send")
    driver.save_screenshot(str(screenshots / "ops-message-sent.png"))

    driver.get(f"{live.base}/ops/audit")
    audit = driver.find_element("tag name", "main").text
    for action in (
        "ops_sessions.refused",
        "ops_sessions.created",
        "ops.csrf_refused",
        "providers.paused",
        "providers.resumed",
        "notifications.searched",
    ):
        assert action in audit
    driver.save_screenshot(str(screenshots / "ops-audit.png"))

    # This very session, idle for an hour (past the 15 minutes allowed), is refused: a form with
    # its own CSRF token is refused, and the page asks to sign in again.
    token = _all(driver, "input[name=csrf]")[0].get_attribute("value")
    live.execute("UPDATE ops_sessions SET last_seen_at = last_seen_at - 3600")
    assert _fetch_status(driver, "/ops/providers/console/pause", f"csrf={token}") == 401
    driver.get(f"{live.base}/ops")
    assert driver.current_url.startswith(f"{live.base}/ops/login")
    assert "expired=1" in driver.current_url
    driver.save_screenshot(str(screenshots / "ops-expired.png"))
    # A cookie the gateway never made (or one signed out) is refused the same way.
    driver.add_cookie({"name": "dargah_ops", "value": "ended-" + "x" * 40, "path": "/ops",
                       "httpOnly": True, "sameSite": "Strict"})  # fmt: skip
    driver.get(f"{live.base}/ops")
    assert driver.current_url.startswith(f"{live.base}/ops/login")
    assert _fetch_status(driver, "/ops/providers/console/pause", "csrf=x") == 401
