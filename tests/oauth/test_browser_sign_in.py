"""Swagger UI's Authorize in headless Chromium, reaching the server through a port mapping:
the authorization code flow with PKCE (the sign-in page), the password flow and client
credentials, each followed by a protected operation called with the token it got."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from shelf.app import create_app
from shelf.extensions import db
from tests.support.browser import headless_chromium
from tests.support.factories import make_settings
from tests.support.forwarder import forwarding
from tests.support.oauth import register_client
from tests.support.people import PASSWORD, make_user
from tests.support.servers import ServerProcess, Servers

pytestmark = [pytest.mark.browser, pytest.mark.server]

EMAIL = "librarian@example.org"
Wait = WebDriverWait[webdriver.Chrome]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as chrome:
        yield chrome


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The production server, with a librarian and a confidential client in its database."""
    servers = Servers(tmp_path_factory.mktemp("sign-in"))
    started = servers.start()
    yield started
    servers.kill_all()


@pytest.fixture(scope="module")
def importer(server: ServerProcess) -> tuple[str, str]:
    """The librarian, and a confidential client for books:write: its id and secret."""
    app = create_app(make_settings(database_url=server.database_url))
    make_user(app, role="librarian", email=EMAIL)
    client_id, secret = register_client(app, name="Importer", scopes=["books:write"])
    with app.app_context():
        db.dispose()
    assert secret is not None
    return client_id, secret


@pytest.fixture
def mapped_url(server: ServerProcess, importer: tuple[str, str]) -> Iterator[str]:
    """The server's address through a port mapping of the test's own (an origin of its own)."""
    with forwarding(server.port) as forwarder:
        assert forwarder.port != server.port
        yield f"http://127.0.0.1:{forwarder.port}"


def severe_console_messages(browser: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def flow(browser: webdriver.Chrome, name: str) -> WebElement:
    """The Authorize dialog's section of the OAuth2 scheme's flow `name`."""
    element: WebElement = browser.find_element(
        By.XPATH, f"//div[contains(@class,'auth-container')][.//h4[contains(., ', {name}')]]"
    )
    return element


def open_authorize_dialog(browser: webdriver.Chrome, wait: Wait, docs: str) -> None:
    browser.get(docs)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".auth-wrapper .authorize"))
    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".modal-ux-content .auth-container"))


def authorized(browser: webdriver.Chrome, wait: Wait, name: str) -> str:
    """The text of flow `name`'s section once it shows it is authorized (or failed)."""
    wait.until(lambda b: re.search("Logout|Error", flow(b, name).text))
    text = flow(browser, name).text
    browser.find_element(By.CSS_SELECTOR, ".modal-ux-content .btn-done").click()
    return text


def call_operation(
    browser: webdriver.Chrome, wait: Wait, method: str, path: str
) -> tuple[str, str]:
    """Try `method path` out in Swagger UI; the status and the response it shows."""
    operation = browser.find_element(
        By.XPATH, f"//div[contains(@class,'opblock-{method}')][.//*[@data-path='{path}']]"
    )
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda b: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait.until(lambda b: operation.find_elements(By.CSS_SELECTOR, ".execute"))
    operation.find_element(By.CSS_SELECTOR, ".execute").click()
    row = ".live-responses-table tbody"
    wait.until(lambda b: operation.find_elements(By.CSS_SELECTOR, f"{row} .response-col_status"))
    status = operation.find_element(By.CSS_SELECTOR, f"{row} .response-col_status").text
    body = operation.find_element(By.CSS_SELECTOR, f"{row} .response-col_description").text
    return status.strip(), body


def test_the_authorization_code_flow_signs_in_on_the_sign_in_page(
    browser: webdriver.Chrome, mapped_url: str, tmp_path: Path
) -> None:
    wait = WebDriverWait(browser, 20)
    open_authorize_dialog(browser, wait, f"{mapped_url}/docs")
    docs_window = browser.current_window_handle
    code_flow = flow(browser, "authorizationCode")
    assert code_flow.find_element(By.ID, "client_id_authorizationCode").get_attribute("value") == (
        "shelf"
    )
    code_flow.find_element(By.CSS_SELECTOR, "label[for^='books:write-authorizationCode']").click()
    code_flow.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()

    wait.until(lambda b: len(b.window_handles) == 2)
    (sign_in_window,) = set(browser.window_handles) - {docs_window}
    browser.switch_to.window(sign_in_window)
    wait.until(lambda b: b.find_elements(By.ID, "email"))
    assert browser.current_url.startswith(f"{mapped_url}/api/v1/auth/authorize?")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in to Shelf"
    browser.find_element(By.ID, "email").send_keys(EMAIL)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    screenshot = tmp_path / "sign-in.png"
    browser.save_screenshot(str(screenshot))
    print(f"sign-in page: {screenshot}")
    assert severe_console_messages(browser) == []  # nothing the page's policy refused
    browser.find_element(By.CSS_SELECTOR, "button[value='allow']").click()

    # The redirect page hands the code to Swagger UI, which redeems it, then closes.
    wait.until(lambda b: b.window_handles == [docs_window])
    browser.switch_to.window(docs_window)
    text = authorized(browser, wait, "authorizationCode")
    assert "Error" not in text, text
    assert "Authorized" in text
    status, body = call_operation(browser, wait, "get", "/api/v1/users/me")
    assert status.startswith("200"), (status, body)
    assert EMAIL in body


def test_the_password_flow_gets_a_token_for_shelfs_own_client(
    browser: webdriver.Chrome, mapped_url: str
) -> None:
    wait = WebDriverWait(browser, 20)
    open_authorize_dialog(browser, wait, f"{mapped_url}/docs")
    password_flow = flow(browser, "password")
    password_flow.find_element(By.ID, "oauth_username").send_keys(EMAIL)
    password_flow.find_element(By.ID, "oauth_password").send_keys(PASSWORD)
    password_flow.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
    text = authorized(browser, wait, "password")
    assert "Error" not in text, text
    status, body = call_operation(browser, wait, "get", "/api/v1/users/me")
    assert status.startswith("200"), (status, body)
    assert EMAIL in body


def test_client_credentials_get_a_token_for_a_confidential_client(
    browser: webdriver.Chrome, mapped_url: str, importer: tuple[str, str]
) -> None:
    client_id, secret = importer
    wait = WebDriverWait(browser, 20)
    open_authorize_dialog(browser, wait, f"{mapped_url}/docs")
    client_flow = flow(browser, "clientCredentials")
    client_id_input = client_flow.find_element(By.ID, "client_id_clientCredentials")
    client_id_input.clear()
    client_id_input.send_keys(client_id)
    client_flow.find_element(By.ID, "client_secret_clientCredentials").send_keys(secret)
    client_flow.find_element(By.CSS_SELECTOR, "label[for^='books:write-clientCredentials']").click()
    client_flow.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .authorize").click()
    text = authorized(browser, wait, "clientCredentials")
    assert "Error" not in text, text
    status, body = call_operation(browser, wait, "post", "/api/v1/books")
    assert status.startswith("201"), (status, body)
