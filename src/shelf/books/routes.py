"""HTTP endpoints of the books resource. Reads are public; writes need `books:write`."""

from __future__ import annotations

from apiflask import APIBlueprint

from shelf.books import service
from shelf.books.schemas import BookCreate, BookOut, BookQuery, BookUpdate
from shelf.cache import cached
from shelf.db import db
from shelf.http import if_match
from shelf.pagination import Page, make_page
from shelf.security import auth

__all__ = ["bp"]

bp = APIBlueprint("books", __name__, tag="Books")
ID = "<int:book_id>"
WRITE = ["books:write"]
CANNOT_WRITE = {403: "The key lacks the scope books:write."}
NOT_FOUND = {404: "No book has this id."}
NOT_MODIFIED = {304: "Not modified since the ETag sent in If-None-Match."}
READ_ONE = {**NOT_FOUND, **NOT_MODIFIED}
BODY_ERRORS = {
    **CANNOT_WRITE,
    400: "Malformed JSON.",
    409: "Another book has this ISBN.",
    413: "Body too large.",
    415: "Body is not JSON.",
}
PRECONDITIONS = {
    **CANNOT_WRITE,
    412: "If-Match names an old ETag: someone changed the book since you read it.",
    428: "If-Match is required by this server and was not sent.",
}


@bp.get("")
@cached("books")
@bp.input(BookQuery, location="query", arg_name="query")
@bp.output(Page[BookOut], description="One page of books; a Link header points to the others.")
@bp.doc(responses=NOT_MODIFIED)
def list_books(query: BookQuery) -> object:
    """List books"""
    return make_page(BookOut, *service.list_books(db.reads, query), query)


@bp.post("")
@bp.auth_required(auth, roles=WRITE)
@bp.input(BookCreate, arg_name="data")
@bp.output(BookOut, status_code=201, description="The created book.")
@bp.doc(responses=BODY_ERRORS)
def create_book(data: BookCreate) -> object:
    """Add a book"""
    book = service.create_book(db.session, data)
    return book, {"ETag": service.etag(book)}


@bp.get(f"/{ID}")
@cached("books")
@bp.output(BookOut, description="The book, with its ETag.")
@bp.doc(responses=READ_ONE)
def get_book(book_id: int) -> object:
    """Get a book"""
    book = service.read_book(db.reads, book_id)
    return book, {"ETag": service.etag(book)}


@bp.put(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(BookCreate, arg_name="data")
@bp.output(BookOut, description="The replaced book, with its new ETag.")
@bp.doc(responses={**NOT_FOUND, **BODY_ERRORS, **PRECONDITIONS})
def replace_book(book_id: int, data: BookCreate) -> object:
    """Replace a book"""
    book = service.replace_book(db.session, book_id, data, if_match=if_match())
    return book, {"ETag": service.etag(book)}


@bp.patch(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(BookUpdate, arg_name="data")
@bp.output(BookOut, description="The changed book, with its new ETag.")
@bp.doc(responses={**NOT_FOUND, **BODY_ERRORS, **PRECONDITIONS})
def update_book(book_id: int, data: BookUpdate) -> object:
    """Change some fields of a book"""
    book = service.update_book(db.session, book_id, data, if_match=if_match())
    return book, {"ETag": service.etag(book)}


@bp.delete(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.output({}, status_code=204, description="The book is gone.")
@bp.doc(responses={**NOT_FOUND, **PRECONDITIONS})
def delete_book(book_id: int) -> object:
    """Delete a book"""
    service.delete_book(db.session, book_id, if_match=if_match())
    return ""
