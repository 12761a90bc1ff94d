"""HTTP endpoints of templates: reads need `templates:read`, writes `templates:write`."""

from __future__ import annotations

import uuid

from apiflask import APIBlueprint

from shelf.cache import cached
from shelf.content_templates import service
from shelf.content_templates.schemas import (
    TemplateCreate,
    TemplateOut,
    TemplateQuery,
    TemplateUpdate,
)
from shelf.db import db
from shelf.http import if_match
from shelf.pagination import Page, make_page
from shelf.security import auth

__all__ = ["bp"]

bp = APIBlueprint("templates", __name__, tag="Templates")
# The uuid converter makes a malformed id an unmatched route, hence 404 on every method.
ID = "<uuid:templateid>"
READ = ["templates:read"]
WRITE = ["templates:write"]
CANNOT_READ = {403: "The key lacks the scope templates:read."}
CANNOT_WRITE = {403: "The key lacks the scope templates:write."}
NOT_FOUND = {404: "No template has this id."}
NOT_MODIFIED = {304: "Not modified since the ETag sent in If-None-Match."}
READ_ONE = {**CANNOT_READ, **NOT_FOUND, **NOT_MODIFIED}
BODY_ERRORS = {
    **CANNOT_WRITE,
    400: "Malformed JSON.",
    413: "Body too large.",
    415: "Body is not JSON.",
}
PRECONDITIONS = {
    **CANNOT_WRITE,
    412: "If-Match names an old ETag: someone changed the template since you read it.",
    428: "If-Match is required by this server and was not sent.",
}


@bp.get("")
@bp.auth_required(auth, roles=READ)
@cached("templates")
@bp.input(TemplateQuery, location="query", arg_name="query")
@bp.output(
    Page[TemplateOut], description="One page of templates; a Link header points to the others."
)
@bp.doc(responses={**CANNOT_READ, **NOT_MODIFIED})
def list_templates(query: TemplateQuery) -> object:
    """List templates"""
    return make_page(TemplateOut, *service.list_templates(db.reads, query), query)


@bp.post("")
@bp.auth_required(auth, roles=WRITE)
@bp.input(TemplateCreate, arg_name="data")
@bp.output(TemplateOut, status_code=201, description="The created template.")
@bp.doc(responses=BODY_ERRORS)
def create_template(data: TemplateCreate) -> object:
    """Add a template"""
    template = service.create_template(db.session, data)
    return template, {"ETag": service.etag(template)}


@bp.get(f"/{ID}")
@bp.auth_required(auth, roles=READ)
@cached("templates")
@bp.output(TemplateOut, description="The template, with its ETag.")
@bp.doc(responses=READ_ONE)
def get_template(templateid: uuid.UUID) -> object:
    """Get a template"""
    template = service.read_template(db.reads, templateid)
    return template, {"ETag": service.etag(template)}


@bp.put(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(TemplateCreate, arg_name="data")
@bp.output(TemplateOut, description="The replaced template, with its new ETag.")
@bp.doc(responses={**NOT_FOUND, **BODY_ERRORS, **PRECONDITIONS})
def replace_template(templateid: uuid.UUID, data: TemplateCreate) -> object:
    """Replace a template"""
    template = service.replace_template(db.session, templateid, data, if_match=if_match())
    return template, {"ETag": service.etag(template)}


@bp.patch(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(TemplateUpdate, arg_name="data")
@bp.output(TemplateOut, description="The changed template, with its new ETag.")
@bp.doc(responses={**NOT_FOUND, **BODY_ERRORS, **PRECONDITIONS})
def update_template(templateid: uuid.UUID, data: TemplateUpdate) -> object:
    """Change some fields of a template"""
    template = service.update_template(db.session, templateid, data, if_match=if_match())
    return template, {"ETag": service.etag(template)}


@bp.delete(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.output({}, status_code=204, description="The template is gone.")
@bp.doc(responses={**NOT_FOUND, **PRECONDITIONS})
def delete_template(templateid: uuid.UUID) -> object:
    """Delete a template"""
    service.delete_template(db.session, templateid, if_match=if_match())
    return ""
