"""The audit log's HTTP endpoint (admins only; records are never changed through the API), and
who the app's writes are recorded as made by."""

from __future__ import annotations

from apiflask import APIBlueprint, APIFlask
from flask import has_request_context, request

from shelf.audit import service
from shelf.audit.schemas import AuditQuery, AuditRecordOut
from shelf.auth.schemes import auth
from shelf.core.pagination import Page
from shelf.extensions import db
from shelf.web import state
from shelf.web.links import make_page
from shelf.web.responses import LIST_ERRORS, forbidden

__all__ = ["bp", "init_app", "request_origin"]

bp = APIBlueprint(
    "audit",
    __name__,
    tag={
        "name": "Audit",
        "description": "Who changed what, when and from where. Admins only; records are "
        "written with every change and never changed or deleted.",
    },
)
ADMIN = ["admin"]
FILTER_ERRORS = {
    422: f"{LIST_ERRORS[422]} Or a filter is invalid: a time without a timezone, `actor_id` "
    "without `actor_kind`, `target_id` without `target_type`, `until` not after `since`."
}


@bp.get("")
@bp.auth_required(auth, roles=ADMIN)
@bp.input(AuditQuery, location="query", arg_name="query")
@bp.output(
    Page[AuditRecordOut],
    description="One page of records, newest first; a Link header points to the others.",
)
@bp.doc(operation_id="listAuditRecords", responses={**forbidden("admin"), **FILTER_ERRORS})
def list_audit_records(query: AuditQuery) -> object:
    """List audit records"""
    return make_page(AuditRecordOut, service.list_records(db.reads, query=query), query)


def request_origin() -> service.Origin:
    """Who makes the writes of the request being served, its id and client address; outside
    a request (a command, a job), `system`."""
    if not has_request_context():
        return service.Origin(service.SYSTEM)
    request_state = state.current()
    principal = request_state.principal
    actor = service.actor_of(principal) if principal else service.ANONYMOUS
    return service.Origin(actor, request_state.request_id or None, request.remote_addr)


def init_app(app: APIFlask) -> None:
    """Record the writes of this app's sessions as made by `request_origin()`."""
    with app.app_context():
        service.watch(db.sessionmaker, origin=request_origin)
