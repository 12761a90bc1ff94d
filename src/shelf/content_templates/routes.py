"""HTTP endpoints of templates: reads need `templates:read`, writes `templates:write`."""

from __future__ import annotations

import uuid

from apiflask import APIBlueprint
from flask import url_for

from shelf.auth.schemes import auth
from shelf.content_templates import service
from shelf.content_templates.schemas import (
    TemplateCreate,
    TemplateOut,
    TemplateQuery,
    TemplateUpdate,
)
from shelf.core.pagination import Page
from shelf.extensions import db
from shelf.idempotency.decorator import idempotent
from shelf.web.caching import cached
from shelf.web.links import make_page
from shelf.web.request_rules import if_match
from shelf.web.responses import (
    BODY_ERRORS,
    LIST_ERRORS,
    NOT_MODIFIED,
    forbidden,
    not_found,
    preconditions,
)

__all__ = ["bp"]

bp = APIBlueprint(
    "templates",
    __name__,
    tag={
        "name": "Templates",
        "description": "Named text templates. Reads need `templates:read`, writes "
        "`templates:write`.",
    },
)
# The uuid converter makes a malformed id an unmatched route, hence 404 on every method.
ID = "<uuid:templateid>"
READ = ["templates:read"]
WRITE = ["templates:write"]
CANNOT_READ = forbidden("templates:read")
CANNOT_WRITE = forbidden("templates:write")
NOT_FOUND = not_found("template")
READ_ONE = {**CANNOT_READ, **NOT_FOUND, **NOT_MODIFIED}
WRITE_ERRORS = {**CANNOT_WRITE, **BODY_ERRORS}
PRECONDITIONS = {**CANNOT_WRITE, **preconditions("template")}


@bp.get("")
@bp.auth_required(auth, roles=READ)
@cached("templates", vary="public")
@bp.input(TemplateQuery, location="query", arg_name="query")
@bp.output(
    Page[TemplateOut], description="One page of templates; a Link header points to the others."
)
@bp.doc(operation_id="listTemplates", responses={**CANNOT_READ, **NOT_MODIFIED, **LIST_ERRORS})
def list_templates(query: TemplateQuery) -> object:
    """List templates"""
    return make_page(TemplateOut, service.list_templates(db.reads, query=query), query)


@bp.post("")
@bp.auth_required(auth, roles=WRITE)
@idempotent
@bp.input(TemplateCreate, arg_name="data")
@bp.output(TemplateOut, status_code=201, description="The created template.")
@bp.doc(operation_id="createTemplate", responses=WRITE_ERRORS)
def create_template(data: TemplateCreate) -> object:
    """Add a template"""
    template = service.create_template(db.session, data=data)
    location = url_for(".get_template", templateid=template.templateid)
    return template, {"ETag": service.etag(template), "Location": location}


@bp.get(f"/{ID}")
@bp.auth_required(auth, roles=READ)
@cached("templates", vary="public")
@bp.output(TemplateOut, description="The template, with its ETag.")
@bp.doc(operation_id="getTemplate", responses=READ_ONE)
def get_template(templateid: uuid.UUID) -> object:
    """Get a template"""
    template = service.read_template(db.reads, templateid=templateid)
    return template, {"ETag": service.etag(template)}


@bp.put(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(TemplateCreate, arg_name="data")
@bp.output(TemplateOut, description="The replaced template, with its new ETag.")
@bp.doc(operation_id="replaceTemplate", responses={**NOT_FOUND, **WRITE_ERRORS, **PRECONDITIONS})
def replace_template(templateid: uuid.UUID, data: TemplateCreate) -> object:
    """Replace a template"""
    template = service.replace_template(
        db.session, templateid=templateid, data=data, if_match=if_match()
    )
    return template, {"ETag": service.etag(template)}


@bp.patch(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(TemplateUpdate, arg_name="data")
@bp.output(TemplateOut, description="The changed template, with its new ETag.")
@bp.doc(operation_id="updateTemplate", responses={**NOT_FOUND, **WRITE_ERRORS, **PRECONDITIONS})
def update_template(templateid: uuid.UUID, data: TemplateUpdate) -> object:
    """Change some fields of a template"""
    template = service.update_template(
        db.session, templateid=templateid, data=data, if_match=if_match()
    )
    return template, {"ETag": service.etag(template)}


@bp.delete(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.output({}, status_code=204, description="The template is gone.")
@bp.doc(operation_id="deleteTemplate", responses={**NOT_FOUND, **PRECONDITIONS})
def delete_template(templateid: uuid.UUID) -> object:
    """Delete a template"""
    service.delete_template(db.session, templateid=templateid, if_match=if_match())
    return ""
