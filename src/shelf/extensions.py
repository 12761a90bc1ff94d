"""The Flask extensions, created unbound here and bound to an app in `create_app`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask.sansio.app import App
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

__all__ = ["SyncSQLAlchemy", "db"]

log = logging.getLogger(__name__)


class SyncSQLAlchemy(SQLAlchemy):
    """The session extension for an app whose engines are all synchronous.

    `engine` (and `session`, for writes) run statements in transactions. `reads` is a second
    engine, on the same database, whose connections are in autocommit: a read there is one
    round trip, with no BEGIN before it and no ROLLBACK when the connection goes back to the
    pool. Each statement sees committed data, as in READ COMMITTED transactions. Reads take
    `db.reads` and use Core statements: no ORM session is built for a request that only reads.
    """

    @property
    def reads(self) -> Engine:
        """The engine for reads outside a transaction (see the class's docstring)."""
        return self.get_engine("reads")

    def dispose(self) -> None:
        """Close the pooled connections of every engine, as when an app is thrown away."""
        for engine in self.engines.values():
            engine.dispose()

    def init_app(self, app: App) -> None:
        """Bind to `app`, without the teardown of async sessions when there is no async engine."""
        super().init_app(app)
        # That teardown is an async function, which Flask runs through asgiref: a new thread and
        # event loop on every request, about a quarter of the CPU time of a read by id.
        if not app.config.get("SQLALCHEMY_ASYNC_ENGINES"):
            app.teardown_appcontext_funcs[:] = [
                func
                for func in app.teardown_appcontext_funcs
                if getattr(func, "__name__", "") != "_close_async_sessions"
            ]
        app.teardown_appcontext_funcs[:] = [
            _forgiving(func) if getattr(func, "__name__", "") == "_close_sessions" else func
            for func in app.teardown_appcontext_funcs
        ]


def _forgiving(close: Callable[..., Any]) -> Callable[..., None]:
    # Closing a session rolls back its transaction; when the database just went away, that
    # fails, and must not turn the answer the request already has into a 500.
    def close_sessions(error: BaseException | None) -> None:
        try:
            close(error)
        except DBAPIError:
            log.warning("closing a session failed: its connection is gone", exc_info=True)

    return close_sessions


# A session lives for one request; reloading every object after its commit would cost a SELECT
# per write just to answer with what was written.
db = SyncSQLAlchemy(session_options={"expire_on_commit": False})
