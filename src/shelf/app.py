"""The application factory: the only place the app is assembled."""

from __future__ import annotations

import logging

from apiflask import APIFlask
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from shelf.apikeys.routes import bp as apikeys_bp
from shelf.audit import routes as audit
from shelf.auth import passwords, schemes
from shelf.books.routes import bp as books_bp
from shelf.books.routes import v2 as books_v2_bp
from shelf.config import Settings, ignored_variables
from shelf.content_templates.routes import bp as templates_bp
from shelf.core.db import (
    bulkhead,
    engine_options,
    read_engine_options,
    serialize_sqlite_writes,
    watch_deadlines,
)
from shelf.core.redis import RedisBackoff, make_redis
from shelf.extensions import db
from shelf.loans.routes import bp as loans_bp
from shelf.oauth import pages as oauth_pages
from shelf.oauth import routes as oauth
from shelf.oauth import server as oauth_server
from shelf.observability.logs import configure_logging
from shelf.ops.routes import bp as ops_bp
from shelf.users.routes import bp as users_bp
from shelf.web import caching, docs, finisher, limits, problems, request_rules
from shelf.web.anonymous_hits import CachedReadShortcut
from shelf.web.application import LazyCookieSessions, OrjsonProvider, ShelfFlask
from shelf.web.envelope import RequestEnvelope

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> APIFlask:
    """Build the app from `settings` (read from the environment when not given)."""
    settings = settings or Settings()
    database_slots = bulkhead(settings)
    app = ShelfFlask(
        "shelf", title="Shelf API", version=settings.app_version, docs_path=None,
        spec_path="/openapi.json",
    )  # fmt: skip
    app.json = OrjsonProvider(app)
    app.session_interface = LazyCookieSessions()
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value(),
        SESSION_COOKIE_SAMESITE="Lax",  # the sign-in page's CSRF token lives in the session
        SESSION_COOKIE_SECURE=settings.app_env in ("staging", "production"),  # behind TLS
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SQLALCHEMY_ENGINES={
            "default": engine_options(settings, database_slots),
            "reads": read_engine_options(settings, database_slots),
        },
        VALIDATION_ERROR_SCHEMA=problems.problem_schema(),
        HTTP_ERROR_SCHEMA=problems.problem_schema(),
        AUTO_SERVERS=False,
        INFO={
            "description": "A library catalogue (books, with members' loans) and named text "
            "templates, with API keys, an OAuth 2 authorization server (JWT access tokens, "
            "clients, PKCE), rate limits, caching, ETags, idempotent creates, an audit log and "
            "cursor pagination: every list, error and header as the operations below describe "
            "them."
        },
    )
    app.extensions["shelf.settings"] = settings
    app.extensions["shelf.redis"] = make_redis(settings)
    # One for the limiter, the cache and invalidation alike: a request waits on a failing Redis
    # for one socket timeout at most, not one per Redis user.
    app.extensions["shelf.redis_backoff"] = RedisBackoff()
    configure_logging(settings.log_level)
    passwords.configure(settings.password_hash_memory_kib)
    for name, why in ignored_variables().items():
        log.warning("%s is set but ignored: %s", name, why)

    # Hooks run in this order before a view: body rules, who is calling, rate limits, the 401
    # for credentials that match no one.
    db.init_app(app)
    with app.app_context():
        serialize_sqlite_writes(db.engine)
        watch_deadlines(settings, default=db.engine, reads=db.reads)
    audit.init_app(app)  # every write of the app's sessions names its caller
    request_rules.init_app(app, settings.api_prefixes)
    problems.init_app(app)
    schemes.init_app(app)
    limits.init_app(app, settings)
    schemes.refuse_unknown_credentials(app)
    oauth_server.init_app(app)  # the sign-in limiter, beside the request limiter
    caching.init_app(app, settings)
    finisher.init_app(app, settings)
    docs.init_app(app, schemes.document_security)
    if settings.cors_origins:  # no cross-origin caller allowed: nothing to add to responses
        CORS(
            app,
            origins=settings.cors_origins,
            expose_headers=["Link", "ETag", "X-Request-ID", "Idempotent-Replayed"],
        )
        app.after_request(request_rules.vary_on_origin)

    for blueprint, url_prefix in (
        (ops_bp, None),
        (docs.bp, None),
        (docs.api_index_bp, settings.api_prefix),
        (books_bp, f"{settings.api_prefix}/books"),
        (books_v2_bp, f"{settings.version_prefix(2)}/books"),
        (templates_bp, f"{settings.api_prefix}/templates"),
        (users_bp, f"{settings.api_prefix}/users"),
        (loans_bp, settings.api_prefix),  # /users/{id}/loans and /loans/{id}
        (apikeys_bp, f"{settings.api_prefix}/apikeys"),
        (audit.bp, f"{settings.api_prefix}/audit"),
        (oauth.auth_bp, f"{settings.api_prefix}/auth"),
        (oauth_pages.bp, f"{settings.api_prefix}/auth"),  # the sign-in page, /auth/authorize
        (oauth.well_known_bp, "/.well-known"),
        (oauth.clients_bp, f"{settings.api_prefix}/clients"),
    ):
        app.register_blueprint(blueprint, url_prefix=url_prefix)
    limits.check_endpoints(app)

    # WSGI layers, innermost first: the anonymous-hit shortcut (not with CORS on, where every
    # answer depends on Origin and Flask answers them all), ProxyFix, then the envelope.
    if settings.cache_enabled and not settings.cors_origins:
        app.wsgi_app = CachedReadShortcut(app, settings.api_prefixes)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]
    app.wsgi_app = RequestEnvelope(app.wsgi_app)  # type: ignore[method-assign]
    return app
