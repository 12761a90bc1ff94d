"""Swagger UI and ReDoc in headless Chromium, reached through a forwarding port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.browser import headless_chromium
from tests.support.forwarder import forwarding
from tests.support.servers import ServerProcess, Servers

pytestmark = [pytest.mark.browser, pytest.mark.server]


# One Chromium and one server for the module: each test reaches the server through a port of
# its own (`forwarded_url`), so its page runs on an origin (and storage) of its own.
@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as chrome:
        yield chrome


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    servers = Servers(tmp_path_factory.mktemp("browser"))
    yield servers.start()
    servers.kill_all()


@pytest.fixture
def forwarded_url(server: ServerProcess) -> Iterator[str]:
    with forwarding(server.port) as forwarder:
        yield f"http://127.0.0.1:{forwarder.port}"


def failed_fetches(browser: webdriver.Chrome) -> list[str]:
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStatus || 0])"
    )
    return [f"{name} -> {status}" for name, status in entries if status >= 400 or status == 0]


def severe_console_messages(browser: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def refused_by_the_csp(messages: list[str]) -> list[str]:
    return [message for message in messages if "Content Security Policy" in message]


def test_swagger_ui_renders_the_books_operations(
    browser: webdriver.Chrome, forwarded_url: str
) -> None:
    browser.get(f"{forwarded_url}/docs")
    WebDriverWait(browser, 20).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock")) >= 6
    )
    summaries = browser.find_element(By.ID, "swagger-ui").text
    for expected in ("/api/v1/books", "/api/v1/books/{book_id}", "Add a book", "Get a book"):
        assert expected in summaries
    assert failed_fetches(browser) == []
    assert severe_console_messages(browser) == []


def test_swagger_ui_names_the_server_by_its_address(
    browser: webdriver.Chrome, forwarded_url: str
) -> None:
    browser.get(f"{forwarded_url}/docs")
    servers = WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".servers select option")
    )
    assert [option.text for option in servers] == [f"{forwarded_url} - This server"]


# ReDoc's sidebar footer always links its maker's logo from a CDN; offline it is simply hidden.
REDOC_BRANDING = "https://cdn.redoc.ly/redoc/logo-mini.svg -> 0"


def test_redoc_renders_the_books_operations(browser: webdriver.Chrome, forwarded_url: str) -> None:
    browser.get(f"{forwarded_url}/redoc")
    WebDriverWait(browser, 30).until(
        lambda b: "Add a book" in b.find_element(By.TAG_NAME, "body").text
    )
    assert [f for f in failed_fetches(browser) if f != REDOC_BRANDING] == []
    refused = refused_by_the_csp(severe_console_messages(browser))
    assert [message for message in refused if "cdn.redoc.ly" not in message] == []


def test_swagger_ui_authorize_sends_the_api_key(
    browser: webdriver.Chrome, forwarded_url: str, server: ServerProcess
) -> None:
    browser.get(f"{forwarded_url}/docs")
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".auth-wrapper .authorize"))
    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".modal-ux-content input"))
    browser.find_element(By.CSS_SELECTOR, ".modal-ux-content input").send_keys(server.admin_key)
    browser.find_element(By.CSS_SELECTOR, ".modal-ux-content .auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux-content .btn-done").click()

    operation = browser.find_element(
        By.XPATH,
        "//div[contains(@class,'opblock-get')][.//*[@data-path='/api/v1/templates']]",
    )
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda b: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait.until(lambda b: operation.find_elements(By.CSS_SELECTOR, ".execute"))
    operation.find_element(By.CSS_SELECTOR, ".execute").click()
    wait.until(
        lambda b: operation.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
        )
    )
    status = operation.find_element(
        By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
    )
    assert status.text.strip().startswith("200")
