"""The application factory: the only place the app is assembled."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import orjson
from apiflask import APIFlask
from flask.json.provider import JSONProvider
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from shelf import cache, docs, errors, http, observability, ops, ratelimit, security
from shelf.books.routes import bp as books_bp
from shelf.cache_shortcut import CachedReadShortcut
from shelf.config import Settings
from shelf.content_templates.routes import bp as templates_bp
from shelf.db import db, engine_options, read_engine_options
from shelf.redis_client import RedisBackoff, make_redis

__all__ = ["create_app"]


class OrjsonProvider(JSONProvider):
    """JSON through orjson: several times faster than the standard library."""

    def dumps(self, obj: object, **kwargs: object) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: object) -> object:
        return orjson.loads(s)


class ShelfFlask(APIFlask):
    """APIFlask, asking once per function (not on every call) whether it is a coroutine.

    Flask checks every hook and view on every request, ~3 us each, a dozen times per request.
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync

    @cached_property
    def _sync_functions(self) -> dict[Callable[..., Any], Callable[..., Any]]:
        return {}


def create_app(settings: Settings | None = None) -> APIFlask:
    """Build the app from `settings` (read from the environment when not given)."""
    settings = settings or Settings()
    app = ShelfFlask(
        "shelf",
        title="Shelf API",
        version=settings.app_version,
        docs_path=None,
        spec_path="/openapi.json",
    )
    app.json = OrjsonProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SQLALCHEMY_ENGINES={
            "default": engine_options(settings),
            "reads": read_engine_options(settings),
        },
        VALIDATION_ERROR_SCHEMA=errors.problem_schema(),
        HTTP_ERROR_SCHEMA=errors.problem_schema(),
        AUTO_SERVERS=False,
        INFO={"description": "A library catalogue: books, with the full HTTP contract."},
        TAGS=[
            {"name": "Books", "description": "The catalogue. Reads are public."},
            {
                "name": "Templates",
                "description": "Named text templates. Reads need `templates:read`, "
                "writes `templates:write`.",
            },
            {"name": "Operations", "description": "Runtime info, health, readiness, metrics."},
        ],
    )
    app.extensions["shelf.settings"] = settings
    app.extensions["shelf.redis"] = make_redis(settings)
    # One for the limiter, the cache and invalidation alike: a request waits on a failing Redis
    # for one socket timeout at most, not one per Redis user.
    app.extensions["shelf.redis_backoff"] = RedisBackoff()
    # WSGI layers, innermost first: the cache shortcut, ProxyFix, then (http.init_app) the
    # request envelope. With CORS on, every answer depends on Origin, so Flask answers them all.
    if settings.cache_enabled and not settings.cors_origins:
        app.wsgi_app = CachedReadShortcut(app, settings.api_prefix)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]

    db.init_app(app)
    http.init_app(app)
    errors.init_app(app)
    observability.init_app(app, settings)
    security.init_app(app)
    ratelimit.init_app(app, settings)
    cache.init_app(app, settings)
    docs.init_app(app)
    if settings.cors_origins:  # no cross-origin caller allowed: nothing to add to responses
        CORS(app, origins=settings.cors_origins, expose_headers=["Link", "ETag", "X-Request-ID"])
        app.after_request(http.vary_on_origin)

    app.register_blueprint(ops.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(docs.api_index_bp, url_prefix=settings.api_prefix)
    app.register_blueprint(books_bp, url_prefix=f"{settings.api_prefix}/books")
    app.register_blueprint(templates_bp, url_prefix=f"{settings.api_prefix}/templates")
    ratelimit.check_endpoints(app)
    return app
