"""What the app installs around a view: Flask hooks and WSGI layers, pinned.

The anonymous-hit shortcut answers before Flask, so none of Flask's hooks run for its hits; a
new hook or layer changes these lists, and whoever adds one decides here whether the shortcut
needs it too (through `finisher.finish`, which both paths share) or whether it belongs in the
envelope, which wraps both.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from werkzeug.middleware.proxy_fix import ProxyFix

from shelf.app import create_app
from shelf.web.anonymous_hits import CachedReadShortcut
from shelf.web.envelope import RequestEnvelope
from tests.support.factories import make_settings
from tests.support.wsgi import wsgi_layers


def names(functions: Any) -> list[str]:
    return [f"{function.__module__}.{function.__qualname__}" for function in functions]


def test_the_flask_hooks_are_pinned(app: APIFlask) -> None:
    assert names(app.before_request_funcs[None]) == [
        # The shortcut never answers a path with "//": it does not match a route there.
        "shelf.web.request_rules.refuse_empty_path_segments",
        "shelf.web.request_rules.init_app.<locals>.require_json_body",
        "shelf.auth.schemes._identify",
        "shelf.web.limits.init_app.<locals>.count_request",
        "shelf.auth.schemes._refuse_unknown_credentials",
    ]
    # Flask runs after_request hooks last-registered first; one finisher serves both paths.
    assert names(app.after_request_funcs[None]) == [
        "shelf.web.finisher.init_app.<locals>.finish_response",
    ]
    assert dict(app.before_request_funcs).keys() == {None}
    assert dict(app.after_request_funcs).keys() == {None}
    assert not any(app.teardown_request_funcs.values())
    assert names(app.teardown_appcontext_funcs) == [
        "shelf.extensions._forgiving.<locals>.close_sessions",
    ]


def test_the_wsgi_layers_are_pinned_and_the_shortcut_is_found_at_any_depth(
    sqlite_url: str,
) -> None:
    app = create_app(make_settings(database_url=sqlite_url))
    assert [type(layer) for layer in wsgi_layers(app)] == [RequestEnvelope, CachedReadShortcut]

    behind_proxy = create_app(make_settings(database_url=sqlite_url, trusted_proxies=1))
    layers = [type(layer) for layer in wsgi_layers(behind_proxy)]
    assert layers == [RequestEnvelope, ProxyFix, CachedReadShortcut]


def test_without_the_cache_there_is_no_shortcut(sqlite_url: str) -> None:
    app = create_app(make_settings(database_url=sqlite_url, cache_enabled=False))
    assert [type(layer) for layer in wsgi_layers(app)] == [RequestEnvelope]
