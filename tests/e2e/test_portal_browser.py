"""The portal in headless Chromium, over the real application served by uvicorn.

Screenshots of every page go to test-artifacts/portal/ (gitignored), at desktop and
phone widths. Without Chromium the tests skip with the reason, except under CI=true.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bysecond.settings import Settings
from bysecond.store.database import Database, open_database

from .api_client import ApiClient, new_api
from .portal_seed import ACME, seed

CHROMIUM = Path(os.environ.get("BYSECOND_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("BYSECOND_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
SECRET = "portal-browser-secret-0123456789-abcdefgh"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run, not skip)")
    pytest.skip(reason)


try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
except ImportError:  # the browser fixture says so: skipped, or failed under CI=true
    webdriver = None  # type: ignore[assignment]


@dataclass
class Portal:
    url: str
    acme: ApiClient
    operator: ApiClient
    secrets: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    url = f"sqlite:///{tmp_path_factory.mktemp('portal') / 'bysecond.sqlite3'}"
    database: Database = open_database(url)
    with new_api(database, Settings(portal_secret=SECRET)) as (operator, acme, other, _):
        seed(operator)
        port = _free_port()
        config = uvicorn.Config(
            operator.client.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        secrets = {
            "acme": acme.secret or "",
            "operator": operator.secret or "",
            "other": other.secret or "",
        }
        try:
            yield Portal(f"http://127.0.0.1:{port}", acme, operator, secrets)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    database.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if webdriver is None:
        _missing("selenium is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        _missing(f"Chromium ({CHROMIUM}) or chromedriver ({CHROMEDRIVER}) is not installed")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver: Any, name: str, *, phone: bool = False) -> None:
    """A full-page screenshot: the window grows to the page's height first."""
    width = 390 if phone else 1280
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(int(height) + 120, 900), 6000))
    time.sleep(0.2)  # let the chart redraw at the new size
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(1280, 1000)


def arrive(driver: Any, url: str) -> None:
    """Wait for a click or a submitted form to land on `url`.

    The page is read only once the wait has given up: reading it while the
    browser is still navigating would touch an element that is going away.
    """
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, 10).until(lambda d: d.current_url == url)
    except TimeoutException:
        try:
            shown = driver.find_element(By.TAG_NAME, "body").text[:300]
        except WebDriverException as error:
            shown = f"(page unreadable: {error.__class__.__name__})"
        pytest.fail(f"expected {url}, still at {driver.current_url}: {shown}")
    assert driver.current_url == url


def sign_in(driver: Any, portal: Portal, who: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{portal.url}/portal/sign-in")
    field = driver.find_element(By.ID, "key")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=key]").text == "API key"
    field.send_keys(portal.secrets[who])
    field.submit()


def test_a_customer_signs_in_reads_every_page_downloads_a_pdf_and_signs_out(
    portal: Portal, browser: Any
) -> None:
    browser.get(f"{portal.url}/portal/sign-in")
    shoot(browser, "sign-in")
    sign_in(browser, portal, "acme")
    arrive(browser, f"{portal.url}/portal/orgs/org-acme")
    estimate = portal.acme.get(f"{ACME}/estimate").json()
    total = browser.find_element(By.ID, "so-far-total")
    assert Decimal(total.get_attribute("data-amount")) == Decimal(estimate["so_far"]["total"])
    assert browser.execute_script("return document.documentElement.lang") == "en"
    drawn = browser.execute_script(
        "return typeof Chart !== 'undefined' && Chart.getChart('daily-chart') !== undefined"
    )
    assert drawn, "the daily chart was not drawn"
    shoot(browser, "overview")
    shoot(browser, "overview-phone", phone=True)

    browser.find_element(By.LINK_TEXT, "Usage").click()
    arrive(browser, f"{portal.url}/portal/orgs/org-acme/usage")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Usage"
    shoot(browser, "usage")
    browser.find_element(By.LINK_TEXT, "Credits").click()
    arrive(browser, f"{portal.url}/portal/orgs/org-acme/credits")
    shoot(browser, "credits")
    browser.find_element(By.LINK_TEXT, "Invoices").click()
    arrive(browser, f"{portal.url}/portal/orgs/org-acme/invoices")
    shoot(browser, "invoices")

    (listed,) = portal.acme.get(f"{ACME}/invoices").json()["invoices"]
    document = portal.acme.get(f"{ACME}/invoices/{listed['id']}").json()
    browser.find_element(By.LINK_TEXT, "2026-09").click()
    arrive(browser, f"{portal.url}/portal/orgs/org-acme/invoices/{listed['id']}")
    shown = browser.find_element(By.ID, "invoice-total").get_attribute("data-amount")
    assert shown == document["total"]
    assert (
        "slices"
        in browser.find_element(By.ID, "former-subtotal").find_element(By.XPATH, "..").text.lower()
    )
    shoot(browser, "invoice")
    href = browser.find_element(By.ID, "download-pdf").get_attribute("href")
    head = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer())"
        ".then(b => done(String.fromCharCode(...new Uint8Array(b.slice(0, 5)))));",
        href,
    )
    assert head == "%PDF-"

    browser.get(f"{portal.url}/portal/orgs/org-other")
    assert "no such organisation" in browser.find_element(By.TAG_NAME, "h1").text
    shoot(browser, "not-found")

    browser.get(f"{portal.url}/portal/orgs/org-acme")
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    arrive(browser, f"{portal.url}/portal/sign-in")
    browser.get(f"{portal.url}/portal/orgs/org-acme")
    assert browser.current_url == f"{portal.url}/portal/sign-in"


def test_an_operator_sees_every_organisation_and_opens_one(portal: Portal, browser: Any) -> None:
    sign_in(browser, portal, "operator")
    arrive(browser, f"{portal.url}/portal/operator")
    assert "2026-09" in browser.find_element(By.ID, "main").text
    shoot(browser, "operator")
    shoot(browser, "operator-phone", phone=True)
    browser.find_element(By.CSS_SELECTOR, "#org-table a[href$='/org-other']").click()
    arrive(browser, f"{portal.url}/portal/orgs/org-other")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("org-other")
    assert browser.find_element(By.LINK_TEXT, "All organisations").is_displayed()


def test_the_keyboard_reaches_the_skip_link_first(portal: Portal, browser: Any) -> None:
    sign_in(browser, portal, "acme")
    arrive(browser, f"{portal.url}/portal/orgs/org-acme")
    from selenium.webdriver.common.keys import Keys

    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
