"""The web console in a real browser (headless Chromium driven by Selenium) against a running demo.

A person's session: log in as admin, watch a fill arrive without reloading, place a working
order from the ticket and cancel it, halt and resume trading; then log in as a viewer, find
no controls, and be refused by the server when trying anyway. Every page is photographed
(``$CONSOLE_SCREENSHOTS``, else the test's temporary folder), on a laptop-sized and on a
phone-sized window. Chromium and its driver are Debian's ``chromium`` and ``chromium-driver``;
without them this test fails saying so (it never skips).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.e2e.demo_process import DemoProcess

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "console-admin-token-0123456789"
WAIT_S = 30.0
PAGES = ("overview", "positions", "orders", "fills", "strategies", "risk", "market", "backtests")
T = TypeVar("T")

pytestmark = pytest.mark.slow


def _browser_tools() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(
            f"the browser test needs {' and '.join(missing)}: install Debian's chromium and"
            " chromium-driver (apt-get install chromium chromium-driver)"
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    _browser_tools()
    running = DemoProcess(TOKEN, tmp_path_factory.mktemp("console-demo") / "stderr.txt")
    try:
        running.wait_serving()
        running.wait_console()
        yield running
    finally:
        code = running.stop()
        assert code == 0, running.output()
        assert "Traceback" not in running.output(), running.output()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    _browser_tools()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def until(driver: WebDriver, condition: Callable[[WebDriver], T | None], what: str) -> T:
    def check(d: WebDriver) -> T | None:
        try:
            return condition(d)
        except StaleElementReferenceException:  # the page redrew under the look-up
            return None

    try:
        result: T = WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(check)
    except WebDriverException as error:
        raise AssertionError(f"{what}: not within {WAIT_S:g}s ({error.msg})") from None
    return result


def text_of(driver: WebDriver, css: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def log_in(driver: WebDriver, url: str, token: str) -> None:
    driver.get(url + "/")
    field = until(driver, lambda d: _shown(d, "#token"), "the login form")
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
    until(driver, lambda d: _shown(d, "#nav"), "the navigation after login")


def log_out(driver: WebDriver) -> None:
    driver.find_element(By.ID, "logout").click()
    until(driver, lambda d: _shown(d, "#token"), "the login form after logout")


def _shown(driver: WebDriver, css: str) -> WebElement | None:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0] if found and found[0].is_displayed() else None


def go(driver: WebDriver, page: str) -> None:
    """Follow the navigation link (no reload: the page is the same document)."""
    driver.find_element(By.CSS_SELECTOR, f'nav a[href="#/{page}"]').click()
    until(
        driver, lambda d: "Loading" not in text_of(d, "#page") and text_of(d, "#page h1"), f"the {page} page"
    )


def rows(driver: WebDriver, css: str = "#page tbody tr") -> list[str]:
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, css)]


def api(demo: DemoProcess, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method,
        f"{demo.console_url}/api/v1{path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10.0,
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return response.json()


def severe_errors(driver: WebDriver) -> list[str]:
    """The browser's errors, but for refusals the test provoked on purpose."""
    expected = ("/api/v1/session - Failed to load resource", "status of 403")
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(e in entry["message"] for e in expected)
    ]


def test_an_admin_watches_a_fill_arrive_cancels_an_order_and_halts_and_resumes(
    demo: DemoProcess, browser: WebDriver, shots: Path
) -> None:
    url = demo.console_url
    log_in(browser, url, TOKEN)
    assert "demo-admin · admin" in text_of(browser, "#who")
    equity = until(browser, lambda d: text_of(d, ".metric .value"), "the equity figure")
    assert re.match(r"^\d{1,3}(,\d{3})*\.\d{2}", equity), equity

    # A fill appears live: a market order sent outside the browser shows up without a reload.
    go(browser, "fills")
    navigations = browser.execute_script("return performance.getEntriesByType('navigation').length")
    marker = browser.execute_script("window.__same_document = true; return true")
    assert marker
    order_id = f"live-fill-{int(time.time())}"
    instrument = api(demo, "GET", "/instruments")["instruments"][0]["id"]
    api(
        demo,
        "POST",
        "/orders",
        json={
            "client_order_id": order_id,
            "instrument_id": instrument,
            "side": "SIDE_BUY",
            "type": "ORDER_TYPE_MARKET",
            "quantity": "0.01",
        },
    )
    until(browser, lambda d: any(order_id in row for row in rows(d)), "the new fill in the table")
    assert browser.execute_script("return window.__same_document === true"), "the page was reloaded"
    assert browser.execute_script("return performance.getEntriesByType('navigation').length") == navigations
    browser.save_screenshot(str(shots / "fills.png"))

    # A working order placed from the ticket, then canceled from its row.
    go(browser, "orders")
    quote = api(demo, "GET", f"/instruments/{instrument}/quote")["quote"]
    price = (Decimal(quote["bid_price"]) * Decimal("0.97")).quantize(Decimal("1"))  # rests, inside the band
    Select(browser.find_element(By.CSS_SELECTOR, "#order-ticket [name=instrument_id]")).select_by_value(
        instrument
    )
    browser.find_element(By.CSS_SELECTOR, "#order-ticket [name=quantity]").send_keys("0.01")
    browser.find_element(By.CSS_SELECTOR, "#order-ticket [name=price]").send_keys(str(price))
    browser.find_element(By.CSS_SELECTOR, "#order-ticket button[type=submit]").click()
    button = until(browser, lambda d: _shown(d, "button[data-cancel^='web-']"), "the working order's Cancel")
    placed = button.get_attribute("data-cancel")
    assert placed
    browser.save_screenshot(str(shots / "orders.png"))
    button.click()
    until(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, f"button[data-cancel='{placed}']"),
        "the row gone",
    )
    assert api(demo, "GET", f"/orders/{placed}")["order"]["status"] == "ORDER_STATUS_CANCELED"

    # Halt and resume.
    go(browser, "risk")
    browser.find_element(By.CSS_SELECTOR, "#halt-form [name=reason]").send_keys("checking the console")
    browser.find_element(By.CSS_SELECTOR, "#halt-form button").click()
    until(browser, lambda d: text_of(d, "#risk-state") == "halted", "the halted state")
    assert api(demo, "GET", "/risk")["state"]["state"] == "TRADING_STATE_HALTED"
    browser.save_screenshot(str(shots / "risk-halted.png"))
    until(browser, lambda d: _shown(d, "#resume-form button"), "the Resume button").click()
    until(browser, lambda d: text_of(d, "#risk-state") == "active", "the active state")
    assert api(demo, "GET", "/risk")["state"]["state"] == "TRADING_STATE_ACTIVE"

    # A backtest launched from the console, its report shown when it ends.
    go(browser, "backtests")
    form = browser.find_element(By.ID, "backtest-form")
    form.find_element(By.NAME, "data").send_keys("BTCUSDT-1m-2024-01-01.csv.gz")
    form.find_element(By.NAME, "params").send_keys("fast=5, slow=20")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    heading = until(browser, lambda d: text_of(d, "#report h2"), "the backtest's report")
    assert "sma_crossover on BTCUSDT.BINANCE" in heading, heading
    assert "Round trips" in text_of(browser, "#report")
    runs = api(demo, "GET", "/backtests")["runs"]
    assert any(run["run_id"][:12] in heading for run in runs)
    browser.save_screenshot(str(shots / "backtest-report.png"))

    for page in PAGES:
        go(browser, page)
        if page in ("overview", "market"):
            time.sleep(4)  # a few seconds of the live chart
        browser.save_screenshot(str(shots / f"{page}.png"))
    browser.set_window_size(390, 844)
    for page in ("overview", "orders"):
        go(browser, page)
        time.sleep(1)
        browser.save_screenshot(str(shots / f"phone-{page}.png"))
    assert severe_errors(browser) == []
    log_out(browser)


def test_a_viewer_sees_no_controls_and_the_server_refuses_them(demo: DemoProcess, browser: WebDriver) -> None:
    log_in(browser, demo.console_url, demo.viewer_token)
    assert "demo-viewer · viewer" in text_of(browser, "#who")
    go(browser, "orders")
    assert not browser.find_elements(By.ID, "order-ticket")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[data-cancel], #cancel-all")
    go(browser, "risk")
    assert not browser.find_elements(By.CSS_SELECTOR, "#halt-form, #resume-form")
    assert "needs an admin token" in text_of(browser, "#page")
    assert not browser.find_elements(By.CSS_SELECTOR, "#limits-form input")
    go(browser, "strategies")
    assert not browser.find_elements(By.CSS_SELECTOR, "button[data-toggle], form[data-params]")
    # Trying anyway, with the session's own CSRF token, is refused by the engine.
    answer = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch("/api/v1/session").then((r) => r.json()).then((s) =>
          fetch("/api/v1/risk/halt", {method: "POST", headers: {"Content-Type": "application/json",
            "X-CSRF-Token": s.csrf_token}, body: JSON.stringify({reason: "a viewer tries"})}))
          .then(async (r) => done([r.status, await r.json()]));
        """
    )
    status, body = answer
    assert status == 403
    assert body["error"]["code"] == "PERMISSION_DENIED"
    assert "viewer" in body["error"]["message"]
    assert api(demo, "GET", "/risk")["state"]["state"] == "TRADING_STATE_ACTIVE"
    assert severe_errors(browser) == []
