"""The audit log: every change, who made it and from where, written in the change's transaction.

Models join the log with class attributes (the audit package imports no resource package):
`__audit__ = "book"` (records book.create, book.update, book.delete); optionally `__audit_id__`,
the field naming a row (default: the primary key), and `__audit_quiet__`, bookkeeping fields
(an API key's last_used_at): never shown, and a change of only these is no record.

A listener on every ORM session (`after_flush`) records each insert, update and delete of such
a model with the new values of the fields it set (an update: only those whose value changed,
from attribute history), in the flush's own transaction: no service has to remember it. It runs
when a session flushes, never on a read. After the flush rather than before it: a new row has
its id by then, and attribute history still holds what changed. Never recorded, not even
hashed: a field named like a secret (`SECRET_NAME`), the primary key, the version column, the
quiet fields; a change of a secret (a new password hash) still makes a record, without it.

Not seen: writes that bypass the ORM's unit of work: Core statements (`update()`, `insert()`,
`delete()`, through `session.execute` or a connection), ORM bulk operations and raw SQL. Such
code records its change with `record`, as events that change no row do (sign-ins);
`record_now` commits at once, for an event whose request then fails (a refused sign-in).

Who and where: the app's sessions carry a function in `session.info[ORIGIN]` (`watch`) naming
the request's caller, id and client address; outside a request, or in another session, `system`.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Column, Connection, Engine, Select, bindparam, event, insert, inspect, select
from sqlalchemy.orm import InstanceState, Mapper, Session, UOWTransaction, sessionmaker

from shelf.audit.models import AuditRecord
from shelf.audit.schemas import FILTERS, AuditQuery
from shelf.core.db import utcnow
from shelf.core.page_reads import paginate
from shelf.core.pagination import Listing, invalid
from shelf.core.principal import Principal

__all__ = [
    "ANONYMOUS",
    "ORIGIN",
    "SECRET_NAME",
    "SYSTEM",
    "Actor",
    "Origin",
    "actor_of",
    "list_records",
    "record",
    "record_now",
    "visible",
    "watch",
]

ORIGIN = "shelf.audit_origin"  # a session.info key: the function naming who writes, and where
# Fields never recorded: what they hold is, or leads to, a credential.
SECRET_NAME = re.compile(r"secret|passw|token|hash|(?:^|_)key$", re.IGNORECASE)
INSERT = insert(AuditRecord)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: `kind` (user, api_key, client, anonymous, system) and an id."""

    kind: str
    id: str | None = None


SYSTEM = Actor("system")
ANONYMOUS = Actor("anonymous")
SUBJECT_KINDS = ("apikey", "client", "user")  # how principals' subjects begin


def actor_of(principal: Principal) -> Actor:
    """The actor `principal` is: its kind, and its subject less the kind (`apikey:7` is key 7,
    `user:5` user 5), the id a record of it as target shows."""
    kind, _, own_id = principal.subject.partition(":")
    return Actor(principal.kind, own_id if own_id and kind in SUBJECT_KINDS else principal.subject)


@dataclass(frozen=True, slots=True)
class Origin:
    """Who makes the changes of a session, and the request and client address they came with."""

    actor: Actor
    request_id: str | None = None
    client_ip: str | None = None


def watch(maker: sessionmaker[Session], *, origin: Callable[[], Origin]) -> None:
    """Have the sessions `maker` makes record changes as made by whom `origin()` names."""
    maker.configure(info={**maker.kw.get("info", {}), ORIGIN: origin})


def record(
    session: Session,
    *,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """Record an event that changes no audited row (`user.sign_in`) in `session`'s transaction:
    it commits or rolls back with it. `actor` replaces the request's caller (a user who just
    signed in); secret-named `changes` are dropped."""
    origin = _origin(session)
    if actor is not None:
        origin = replace(origin, actor=actor)
    entry = (action, target_type, target_id, visible(changes or {}))
    _write(session.connection(), origin, [entry])


def record_now(
    session: Session,
    *,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """`record`, then commit `session`: for an event whose request then fails (a refused
    sign-in). Whatever else `session` holds commits too: call it with nothing else pending."""
    record(
        session,
        action=action,
        target_type=target_type,
        target_id=target_id,
        changes=changes,
        actor=actor,
    )
    session.commit()


def visible(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` as a record shows them: no secret-named field, values as JSON."""
    return {key: _json(value) for key, value in changes.items() if not SECRET_NAME.search(key)}


def list_records(engine: Engine, *, query: AuditQuery) -> Listing:
    """One page of records, newest first unless sorted otherwise, matching the filters."""
    if query.actor_id is not None and query.actor_kind is None:
        raise invalid("actor_id", "needs actor_kind", "Send actor_kind with actor_id.")
    if query.target_id is not None and query.target_type is None:
        raise invalid("target_id", "needs target_type", "Send target_type with target_id.")
    values = {name: getattr(query, name) for name in FILTERS if getattr(query, name) is not None}
    with engine.connect() as connection:
        return paginate(connection, _filter_statement(frozenset(values)), values, query)


@functools.lru_cache(maxsize=1 << len(FILTERS))  # every set of filters
def _filter_statement(filters: frozenset[str]) -> Select[Any]:
    statement = select(AuditRecord)
    for name in sorted(filters - {"since", "until"}):
        statement = statement.where(getattr(AuditRecord, name) == bindparam(name))
    if "since" in filters:
        statement = statement.where(AuditRecord.at >= bindparam("since"))
    if "until" in filters:
        statement = statement.where(AuditRecord.at < bindparam("until"))
    return statement


@dataclass(frozen=True, slots=True)
class _Audited:
    """What the log keeps of one model: its name, the field naming a row, the fields shown,
    and the fields whose change makes a record though they are not shown (secrets)."""

    name: str
    id_field: str
    shown: tuple[str, ...]
    hidden: tuple[str, ...]


_models: dict[type, _Audited | None] = {}  # what each model class declares, read once


def _audited(model: type) -> _Audited | None:
    if model not in _models:
        _models[model] = _declared(model)
    return _models[model]


def _declared(model: type) -> _Audited | None:
    name: str | None = getattr(model, "__audit__", None)
    if name is None:
        return None
    mapper: Mapper[Any] = inspect(model)
    keys = [mapper.get_property_by_column(column).key for column in mapper.primary_key]
    version = mapper.version_id_col
    if version is not None:
        keys.append(mapper.get_property_by_column(version).key)
    id_field: str = getattr(model, "__audit_id__", None) or keys[0]
    quiet = {*getattr(model, "__audit_quiet__", ()), *keys, id_field}
    columns = [  # the table's own columns: no expression such as a column_property
        attr.key
        for attr in mapper.column_attrs
        if attr.key not in quiet and isinstance(attr.columns[0], Column)
    ]
    hidden = tuple(key for key in columns if SECRET_NAME.search(key))
    shown = tuple(key for key in columns if key not in hidden)
    return _Audited(name, id_field, shown, hidden)


Entry = tuple[str, str | None, object, dict[str, Any]]  # action, target type and id, changes


@event.listens_for(Session, "after_flush")
def _record_flushed(session: Session, flush_context: UOWTransaction) -> None:
    entries = [
        *_entries(session.new, "create"),
        *_entries(session.dirty, "update"),
        *_entries(session.deleted, "delete"),
    ]
    if entries:
        _write(session.connection(), _origin(session), entries)


def _entries(instances: Iterable[Any], verb: str) -> Iterator[Entry]:
    for instance in instances:
        audited = _audited(type(instance))
        if audited is None:
            continue
        state: InstanceState[Any] = inspect(instance)
        if verb == "update":
            changed = {
                key
                for key in state.committed_state.keys() & {*audited.shown, *audited.hidden}
                if state.attrs[key].history.has_changes()
            }
            if not changed:
                continue
            fields = {key: state.dict[key] for key in audited.shown if key in changed}
        elif verb == "create":
            fields = {key: state.dict[key] for key in audited.shown if key in state.dict}
        else:
            fields = {}
        target = state.dict.get(audited.id_field)
        if target is None and state.identity is not None:
            target = state.identity[0]
        yield f"{audited.name}.{verb}", audited.name, target, visible(fields)


def _origin(session: Session) -> Origin:
    origin: Callable[[], Origin] | None = session.info.get(ORIGIN)
    return origin() if origin is not None else Origin(SYSTEM)


def _write(connection: Connection, origin: Origin, entries: list[Entry]) -> None:
    at = utcnow()
    rows = [
        {
            "at": at,
            "actor_kind": origin.actor.kind,
            "actor_id": _cut(origin.actor.id, 200),
            "action": action,
            "target_type": target_type,
            "target_id": None if target_id is None else _cut(str(target_id), 64),
            "request_id": _cut(origin.request_id, 128),
            "client_ip": _cut(origin.client_ip, 64),
            "changes": changes,
        }
        for action, target_type, target_id, changes in entries
    ]
    # One row is sent as one statement, not a batch of one (~10% quicker on PostgreSQL).
    connection.execute(INSERT, rows[0] if len(rows) == 1 else rows)


def _cut(text: str | None, length: int) -> str | None:
    # A value longer than its column would fail the write it describes (on PostgreSQL).
    return text[:length] if text is not None else None


def _json(value: Any) -> Any:
    """`value` as JSON holds it: timestamps in ISO 8601, anything else unknown as text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _json(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return visible({str(key): item for key, item in value.items()})
    if isinstance(value, bytes | bytearray | memoryview):
        return f"({len(value)} bytes)"
    return str(value)  # a UUID, a Decimal
