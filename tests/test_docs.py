"""The OpenAPI document, the docs pages and the API index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from shelf.app import create_app
from shelf.cli.seed import DEMO_BOOKS, load_demo_books
from shelf.extensions import db
from shelf.web.request_rules import FORM_MIMETYPE as FORM
from tests.support.factories import make_settings

NOT_IN_SPEC = {"static", "openapi.spec", "docs.swagger_ui", "docs.redoc", "oauth_pages.authorize"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/openapi.json").get_json()
    return body


def served_operations(app: APIFlask) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_IN_SPEC:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - IGNORED_METHODS:
            operations.add((path, method.lower()))
    return operations


def test_the_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_the_spec_lists_exactly_the_routes_served(app: APIFlask, spec: dict[str, Any]) -> None:
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == served_operations(app)


def test_every_operation_has_a_summary_examples_and_its_errors(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json")
                if media:
                    assert "example" in media, f"{where} {status} has no example"
                if status[0] in "45":
                    assert "application/problem+json" in response["content"], where
            body = operation.get("requestBody")
            if body:
                content = body["content"]  # JSON, or a form for OAuth 2's endpoints
                media = content.get("application/json") or content[FORM]
                assert "example" in media, where
                assert {"400", "413", "415", "422"} <= operation["responses"].keys(), where
            if "{" in path:
                assert "404" in operation["responses"], where


def required_scopes(path: str, method: str) -> list[str] | None:
    """The scopes each API operation accepts (any one will do): None when public, [] when any
    credentials will do."""
    resource = path.split("/")[3]
    if resource == "auth" or (path, method) == ("/api/v1/users", "post"):
        return None  # the OAuth 2 endpoints authenticate clients themselves; anyone registers
    if path == "/api/v1/users/me":
        return []
    if resource == "loans" or path.endswith("/loans"):
        return ["loans:read" if method == "get" else "loans:write", "loans:admin"]
    if resource == "users":
        return ["users:admin"]
    if resource in ("apikeys", "clients", "audit"):
        return ["admin"]
    if method == "get":
        return None if resource == "books" else [f"{resource}:read"]
    return [f"{resource}:write"]


# Client generators name their methods after the operation ids: they stay as they are.
OPERATIONS = {
    "get /": ("Operations", "getInfo"),
    "get /health": ("Operations", "getHealth"),
    "get /healthz": ("Operations", "getHealthz"),
    "get /readiness": ("Operations", "getReadiness"),
    "get /readyz": ("Operations", "getReadyz"),
    "get /metrics": ("Operations", "getMetrics"),
    "get /api/v1": ("Operations", "getApiIndex"),
    "get /api/v1/books": ("Books", "listBooks"),
    "post /api/v1/books": ("Books", "createBook"),
    "get /api/v1/books/{book_id}": ("Books", "getBook"),
    "get /api/v2/books/{book_id}": ("Books", "getBookV2"),
    "put /api/v1/books/{book_id}": ("Books", "replaceBook"),
    "patch /api/v1/books/{book_id}": ("Books", "updateBook"),
    "delete /api/v1/books/{book_id}": ("Books", "deleteBook"),
    "get /api/v1/templates": ("Templates", "listTemplates"),
    "post /api/v1/templates": ("Templates", "createTemplate"),
    "get /api/v1/templates/{templateid}": ("Templates", "getTemplate"),
    "put /api/v1/templates/{templateid}": ("Templates", "replaceTemplate"),
    "patch /api/v1/templates/{templateid}": ("Templates", "updateTemplate"),
    "delete /api/v1/templates/{templateid}": ("Templates", "deleteTemplate"),
    "get /api/v1/users": ("Users", "listUsers"),
    "post /api/v1/users": ("Users", "createUser"),
    "get /api/v1/users/me": ("Users", "getMe"),
    "patch /api/v1/users/me": ("Users", "updateMe"),
    "get /api/v1/users/{user_id}": ("Users", "getUser"),
    "patch /api/v1/users/{user_id}": ("Users", "updateUser"),
    "get /api/v1/users/{user_id}/loans": ("Loans", "listLoans"),
    "post /api/v1/users/{user_id}/loans": ("Loans", "createLoan"),
    "get /api/v1/loans/{loan_id}": ("Loans", "getLoan"),
    "post /api/v1/loans/{loan_id}/return": ("Loans", "returnLoan"),
    "get /api/v1/apikeys": ("API keys", "listApiKeys"),
    "post /api/v1/apikeys": ("API keys", "createApiKey"),
    "get /api/v1/apikeys/{key_id}": ("API keys", "getApiKey"),
    "delete /api/v1/apikeys/{key_id}": ("API keys", "deleteApiKey"),
    "post /api/v1/apikeys/{key_id}/revoke": ("API keys", "revokeApiKey"),
    "post /api/v1/apikeys/{key_id}/rotate": ("API keys", "rotateApiKey"),
    "get /api/v1/audit": ("Audit", "listAuditRecords"),
    "post /api/v1/auth/token": ("OAuth 2", "getToken"),
    "post /api/v1/auth/revoke": ("OAuth 2", "revokeToken"),
    "post /api/v1/auth/introspect": ("OAuth 2", "introspectToken"),
    "get /.well-known/oauth-authorization-server": ("OAuth 2", "getAuthorizationServerMetadata"),
    "get /.well-known/jwks.json": ("OAuth 2", "getJwks"),
    "get /api/v1/clients": ("OAuth clients", "listClients"),
    "post /api/v1/clients": ("OAuth clients", "createClient"),
    "get /api/v1/clients/{client_id}": ("OAuth clients", "getClient"),
    "post /api/v1/clients/{client_id}/revoke": ("OAuth clients", "revokeClient"),
    "post /api/v1/clients/{client_id}/rotate": ("OAuth clients", "rotateClientSecret"),
}


def test_every_operation_has_its_tag_and_a_stable_readable_id(spec: dict[str, Any]) -> None:
    found = {
        f"{method} {route}": (*operation.get("tags", ["(none)"]), operation.get("operationId"))
        for route, path in spec["paths"].items()
        for method, operation in path.items()
    }
    assert found == OPERATIONS
    tags = [tag["name"] for tag in spec["tags"]]
    assert sorted(tags) == sorted(
        ["API keys", "Audit", "Books", "Loans", "OAuth 2", "OAuth clients", "Operations",
         "Templates", "Users"]
    )  # fmt: skip # each declared once
    assert all(tag.get("description") for tag in spec["tags"])
    assert all(word in spec["info"]["description"] for word in ("books", "templates"))


def test_trying_out_the_documented_book_creates_one_after_the_seed(client: FlaskClient) -> None:
    with client.application.app_context():
        assert load_demo_books(db.session) == len(DEMO_BOOKS)  # as `make seed` does
    spec = client.get("/openapi.json").get_json()
    create = spec["paths"]["/api/v1/books"]["post"]["requestBody"]["content"]["application/json"]
    assert client.post("/api/v1/books", json=create["example"]).status_code == 201


def test_every_create_documents_its_location_header(spec: dict[str, Any]) -> None:
    created = [
        operation["responses"]["201"]
        for path in spec["paths"].values()
        for operation in path.values()
        if "201" in operation["responses"]
    ]
    # books, templates, users, loans, API keys (and a rotated one), clients
    assert len(created) == 7
    for response in created:
        assert response["headers"]["Location"]["schema"]["type"] == "string"


def test_the_spec_declares_the_schemes_and_each_requirement(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    key = schemes["ApiKeyAuth"]
    assert key == {**key, "type": "apiKey", "in": "header", "name": "X-API-KEY"}
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    flows = schemes["OAuth2"]["flows"]
    assert flows["authorizationCode"]["authorizationUrl"] == "/api/v1/auth/authorize"
    assert {flow["tokenUrl"] for flow in flows.values()} == {"/api/v1/auth/token"}
    assert set(flows) == {"authorizationCode", "password", "clientCredentials"}
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            assert "security" not in next(iter(item.values())), path
            continue
        for method, operation in item.items():
            scopes = required_scopes(path, method)
            alternatives = [[scope] for scope in scopes or []] or [[]]
            expected = (
                [
                    {scheme: alternative}
                    for scheme in ("ApiKeyAuth", "BearerAuth", "OAuth2")
                    for alternative in alternatives
                ]
                if scopes is not None
                else None
            )
            assert operation.get("security") == expected, (method, path)
            if scopes is not None:
                assert {"401", "403"} <= operation["responses"].keys(), (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)
            assert "503" in operation["responses"], (method, path)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_have_a_csp_that_runs_only_this_origins_script_files(
    client: FlaskClient, page: str
) -> None:
    response = client.get(page)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    html = response.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script to allow
    for asset in re.findall(r'(?:src|href)="(static/[^"]+)"', html):
        with client.get(f"/{asset}") as served:
            assert served.status_code == 200, asset


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_use_only_relative_urls(client: FlaskClient, page: str) -> None:
    html = client.get(page).get_data(as_text=True)
    urls = re.findall(r'(?:src|href|url|spec-url)\s*[=:]\s*"([^"]+)"', html)
    assert urls
    for url in urls:
        assert not url.startswith(("/", "http:", "https:")), url
        with client.get(f"/{url}") as asset:
            assert asset.status_code == 200, url


def test_the_spec_server_is_relative(spec: dict[str, Any]) -> None:
    assert spec["servers"] == [{"url": ".", "description": "This server"}]


def test_a_browser_opening_the_api_is_sent_to_the_docs(client: FlaskClient) -> None:
    response = client.get("/api/v1", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 302
    assert response.headers["Location"] == "../docs"


def test_an_api_client_gets_the_index(client: FlaskClient) -> None:
    body = client.get("/api/v1", headers={"Accept": "application/json"}).get_json()
    assert body["links"]["books"] == "/api/v1/books"
    assert body["links"]["docs"] == "/docs"


def test_links_honour_a_trusted_proxy_prefix() -> None:
    client = create_app(make_settings(trusted_proxies=1)).test_client()
    headers = {"X-Forwarded-Prefix": "/shelf", "X-Forwarded-Host": "example.com"}
    body = client.get("/api/v1", headers=headers).get_json()
    assert body["links"]["books"] == "/shelf/api/v1/books"


def test_proxy_headers_are_ignored_unless_trusted() -> None:
    client = create_app(make_settings()).test_client()
    body = client.get("/api/v1", headers={"X-Forwarded-Prefix": "/evil"}).get_json()
    assert body["links"]["books"] == "/api/v1/books"


def test_every_test_the_reliability_document_names_exists() -> None:
    """docs/RELIABILITY.md proves each guarantee by naming a test: each name must be real."""
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "RELIABILITY.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", text)
    assert named
    for path, test in named:
        source = (root / path).read_text()
        assert not test or f"def {test}(" in source, f"{path}::{test} is not a test"
