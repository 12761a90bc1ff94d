"""Swagger UI and ReDoc in headless Chromium, reached through a forwarding port."""

from __future__ import annotations

import shutil
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.servers import ServerProcess, Servers, free_port
from tests.support.services import unavailable

pytestmark = [pytest.mark.browser, pytest.mark.server]


class Forwarder(socketserver.ThreadingTCPServer):
    """A port mapping: every connection is piped to the server's port, bytes unchanged."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.target_port = target_port
        super().__init__(("127.0.0.1", listen_port), PipeHandler)


class PipeHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, Forwarder)
        with socket.create_connection(("127.0.0.1", self.server.target_port)) as upstream:
            pump = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
            pump.start()
            _pipe(self.request, upstream)
            pump.join(timeout=5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


# One Chromium and one server for the module: each test reaches the server through a port of
# its own (`forwarded_url`), so its page runs on an origin (and storage) of its own.
@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        unavailable("chromium and chromedriver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    servers = Servers(tmp_path_factory.mktemp("browser"))
    yield servers.start()
    servers.kill_all()


@pytest.fixture
def forwarded_url(server: ServerProcess) -> Iterator[str]:
    forwarder = Forwarder(free_port(), server.port)
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{forwarder.server_address[1]}"
    forwarder.shutdown()
    forwarder.server_close()


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
