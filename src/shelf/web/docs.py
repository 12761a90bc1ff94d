"""API documentation: Swagger UI, ReDoc, the API index, and touches to the generated OpenAPI.

Every URL in the pages is relative, so the docs work behind a port mapping, a proxy or a path
prefix. The UI assets are served from the package, so the docs need no outside network.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from apiflask import APIBlueprint, APIFlask
from flask import current_app, redirect, render_template_string, request
from pydantic import BaseModel, ConfigDict
from werkzeug.wrappers import Response as WerkzeugResponse

from shelf.web.request_rules import is_api_path
from shelf.web.retirement import RETIREMENT_HEADERS

__all__ = ["api_index_bp", "bp", "init_app"]

bp = APIBlueprint("docs", __name__, enable_openapi=False)
api_index_bp = APIBlueprint("api_index", __name__, tag="Operations")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Shelf API - {{ title }}</title>
  <link rel="icon" type="image/png" href="static/docs/favicon.png">
  {{ head | safe }}
</head>
<body>
{{ body | safe }}
</body>
</html>"""

SWAGGER_HEAD = '<link rel="stylesheet" href="static/docs/swagger-ui.css">'
SWAGGER_BODY = """<div id="swagger-ui"></div>
<script src="static/docs/swagger-ui-bundle.js"></script>
<script src="static/docs/swagger-init.js"></script>"""
REDOC_BODY = """<redoc spec-url="openapi.json"></redoc>
<script src="static/docs/redoc.standalone.js"></script>"""

ERROR_CONTENT = "application/problem+json"
# The docs pages load everything from this origin: scripts only from files (no inline script,
# no eval), the spec and "Try it out" calls to it alone. Both UIs set inline styles, Swagger UI
# draws its icons as data: images, and ReDoc runs its search in a worker made from a blob.
DOCS_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


class ApiIndex(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service": "shelf",
                    "version": "0.1.0",
                    "links": {
                        "books": "/api/v1/books",
                        "docs": "/docs",
                        "openapi": "/openapi.json",
                    },
                }
            ]
        }
    )
    service: str
    version: str
    links: dict[str, str]


@bp.get("/docs")
def swagger_ui() -> tuple[str, dict[str, str]]:
    page = render_template_string(PAGE, title="Swagger UI", head=SWAGGER_HEAD, body=SWAGGER_BODY)
    return page, {"Content-Security-Policy": DOCS_CSP}


@bp.get("/redoc")
def redoc() -> tuple[str, dict[str, str]]:
    page = render_template_string(PAGE, title="ReDoc", head="", body=REDOC_BODY)
    return page, {"Content-Security-Policy": DOCS_CSP}


@api_index_bp.get("")
@api_index_bp.output(ApiIndex, description="Links to the resources and the docs.")
@api_index_bp.doc(
    operation_id="getApiIndex",
    responses={302: "A browser (Accept: text/html) is sent to the docs."},
)
def api_index() -> object:
    """API index"""
    settings = current_app.extensions["shelf.settings"]
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return _redirect_to_docs(settings.api_prefix)
    base = request.script_root + settings.api_prefix
    return ApiIndex(
        service="shelf",
        version=settings.app_version,
        links={
            "books": f"{base}/books",
            "templates": f"{base}/templates",
            "docs": f"{request.script_root}/docs",
            "openapi": f"{request.script_root}/openapi.json",
        },
    )


def _redirect_to_docs(prefix: str) -> WerkzeugResponse:
    # Relative, so the redirect survives a path prefix the service does not know about.
    return redirect("../" * (prefix.count("/") - 1) + "docs", code=302)


def _example_of(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    ref = schema.get("$ref", "")
    examples = components.get(ref.rsplit("/", 1)[-1], {}).get("examples")
    return examples[0] if examples else None


def _retry_later(description: str, retry_after: str) -> dict[str, Any]:
    """A problem response that carries Retry-After."""
    return {
        "description": description,
        "content": {ERROR_CONTENT: {"schema": {"$ref": "#/components/schemas/HTTPError"}}},
        "headers": {"Retry-After": {"description": retry_after, "schema": {"type": "integer"}}},
    }


# What any API operation may answer, whatever it does: wrong credentials, limits and
# unavailable dependencies.
EVERY_API_OPERATION = {
    "401": {
        "description": "The credentials sent (X-API-KEY, or an access token in Authorization: "
        "Bearer) are unknown, expired or revoked (a public read needs none, but wrong ones are "
        "refused).",
        "content": {ERROR_CONTENT: {"schema": {"$ref": "#/components/schemas/HTTPError"}}},
    },
    "429": _retry_later(
        "Too many requests for this caller; retry after the number of seconds in Retry-After.",
        "Seconds until the limit's window resets.",
    ),
    "503": _retry_later(
        "A dependency (the database) is unavailable or busy; retry after Retry-After seconds.",
        "Seconds to wait before retrying.",
    ),
}


# Every 201 answers with the path of what it created.
CREATED_LOCATION = {
    "Location": {
        "description": "The path of the created resource, e.g. /api/v1/books/42.",
        "schema": {"type": "string", "format": "uri-reference"},
    }
}


def _link_created_items(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """Links from each 201 of a collection's POST to every operation on the item it created.

    The item's path parameter takes the created body's field of the same name, else its `id`.
    """
    for route, path in paths.items():
        created = path.get("post", {}).get("responses", {}).get("201")
        item_routes = [r for r in paths if r.startswith(f"{route}/{{") and r.count("/{") == 1]
        if created is None or len(item_routes) != 1:
            continue
        item_route = item_routes[0]
        parameter = item_route.rsplit("{", 1)[1].rstrip("}")
        ref = created["content"]["application/json"]["schema"].get("$ref", "")
        properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
        field = parameter if parameter in properties else "id"
        pointer = item_route.replace("~", "~0").replace("/", "~1")
        created["links"] = {
            "_".join(operation["summary"].lower().split()): {
                "operationRef": f"#/paths/{pointer}/{method}",
                "parameters": {parameter: f"$response.body#/{field}"},
                "description": f"{operation['summary']}: the one just created.",
            }
            for method, operation in paths[item_route].items()
        }


def _process_spec(spec: Any) -> Any:
    spec["servers"] = [{"url": ".", "description": "This server"}]
    components = spec.get("components", {}).get("schemas", {})
    api_prefixes = current_app.extensions["shelf.settings"].api_prefixes
    for route, path in spec.get("paths", {}).items():
        for operation in path.values():
            if is_api_path(route, api_prefixes):
                for status, response in EVERY_API_OPERATION.items():
                    operation["responses"].setdefault(status, response)
                    if "headers" in response:  # an operation's own words, the same headers
                        operation["responses"][status].setdefault("headers", response["headers"])
            if operation.get("deprecated"):
                _document_retirement(operation)
            if "201" in operation["responses"]:
                operation["responses"]["201"].setdefault("headers", {}).update(CREATED_LOCATION)
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True  # no body is a 400
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and (example := _example_of(body["schema"], components)) is not None:
                body.setdefault("example", example)
            for status, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get("application/json")
                if media and (example := _example_of(media["schema"], components)) is not None:
                    media.setdefault("example", example)
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[ERROR_CONTENT] = content.pop("application/json")
                elif content.get("application/json") == {"schema": {}}:
                    # A placeholder APIFlask adds to responses that have no JSON body.
                    del content["application/json"]
                    if not content:
                        response.pop("content")
    _link_created_items(spec.get("paths", {}), components)
    _name_aliases(spec.get("paths", {}))
    # A tag is listed once per blueprint; the API index's blueprint shares "Operations".
    tags = {tag["name"]: tag for tag in reversed(spec.get("tags", []))}
    spec["tags"] = [tags[name] for name in dict.fromkeys(tag["name"] for tag in spec["tags"])]
    return spec


def _document_retirement(operation: dict[str, Any]) -> None:
    """A retired operation's headers on what its view answers, and its 410 after the sunset
    (checks made before the view, such as credentials and limits, answer without them)."""
    for status, response in operation["responses"].items():
        if status[0] == "2" or status in ("304", "404"):
            response.setdefault("headers", {}).update(RETIREMENT_HEADERS)
    operation["responses"].setdefault(
        "410",
        {
            "description": "Past the Sunset date: the operation is retired; the Link header "
            "gives its successor.",
            "content": {ERROR_CONTENT: {"schema": {"$ref": "#/components/schemas/HTTPError"}}},
            "headers": RETIREMENT_HEADERS,
        },
    )


def _name_aliases(paths: dict[str, Any]) -> None:
    """Operation ids are unique: of a view served at two paths (`/health` and `/healthz`), the
    path its id names keeps it, and the other is named after its method and last segment
    (`getHealthz`)."""
    operations = [
        (route, method, op) for route, path in paths.items() for method, op in path.items()
    ]
    ids = Counter(op.get("operationId") for _, _, op in operations)
    for route, method, operation in operations:
        if operation.get("operationId") and ids[operation["operationId"]] > 1:
            operation["operationId"] = method + route.rstrip("/").rsplit("/", 1)[-1].title()


def init_app(app: APIFlask, *also: Callable[[dict[str, Any]], None]) -> None:
    """Register the docs pages and the OpenAPI post-processing, then `also`'s (the layers
    above document what they add, such as the security schemes)."""

    def process(spec: Any) -> Any:
        spec = _process_spec(spec)
        for more in also:
            more(spec)
        return spec

    app.spec_processor(process)
