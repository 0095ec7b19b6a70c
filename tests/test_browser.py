"""The pages in Debian's Chromium (tests/browser.py): a whole password reset on the web phone, the
password read in its inbox and verified through the API; the landing page and the docs at a
phone's width. Screenshots of each page are saved under the run's temporary directory."""

from __future__ import annotations

import re
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
        assert links == [f"{live.base}/docs", f"{live.base}/simulator"]
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
