"""HTTP endpoints of the books resource. Reads are public; writes need `books:write`.

`bp` serves version 1 of every operation; `v2` serves version 2 of those that changed (a book's
authors are a list), and version 1's counterpart is `@retired` in its favour.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apiflask import APIBlueprint
from flask import url_for

from shelf.auth.schemes import auth
from shelf.books import service
from shelf.books.schemas import BookCreate, BookOut, BookOutV2, BookQuery, BookUpdate
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
from shelf.web.retirement import retired

__all__ = ["bp", "v2"]

bp = APIBlueprint(
    "books", __name__, tag={"name": "Books", "description": "The catalogue. Reads are public."}
)
v2 = APIBlueprint("books_v2", __name__, tag="Books")
ID = "<int:book_id>"
WRITE = ["books:write"]
CANNOT_WRITE = forbidden("books:write")
NOT_FOUND = not_found("book")
# Version 2 shows a book's authors as a list.
GET_BOOK_DEPRECATED = datetime(2026, 11, 30, tzinfo=UTC)
GET_BOOK_SUNSET = datetime(2027, 12, 1, tzinfo=UTC)
WRITE_ERRORS = {**CANNOT_WRITE, **BODY_ERRORS, 409: "Another book has this ISBN."}
PRECONDITIONS = {**CANNOT_WRITE, **preconditions("book")}
# Copies on loan bound what a write may do to a book.
CHANGE_ERRORS = {
    **WRITE_ERRORS,
    409: "Another book has this ISBN, or `copies` is below the copies on loan (`BOOK_ON_LOAN`).",
}
DELETE_CONFLICT = {409: "Copies are on loan (`BOOK_ON_LOAN`), or the book has loans on record."}


@bp.get("")
@cached("books", vary="public")
@bp.input(BookQuery, location="query", arg_name="query")
@bp.output(Page[BookOut], description="One page of books; a Link header points to the others.")
@bp.doc(operation_id="listBooks", responses={**NOT_MODIFIED, **LIST_ERRORS})
def list_books(query: BookQuery) -> object:
    """List books"""
    return make_page(BookOut, service.list_books(db.reads, query=query), query)


@bp.post("")
@bp.auth_required(auth, roles=WRITE)
@idempotent
@bp.input(BookCreate, arg_name="data")
@bp.output(BookOut, status_code=201, description="The created book.")
@bp.doc(operation_id="createBook", responses=WRITE_ERRORS)
def create_book(data: BookCreate) -> object:
    """Add a book"""
    book = service.create_book(db.session, data=data)
    return book, {"ETag": service.etag(book), "Location": url_for(".get_book", book_id=book.id)}


@bp.get(f"/{ID}")
@cached("books", vary="public")
@retired(successor="books_v2.get_book_v2", deprecated=GET_BOOK_DEPRECATED, sunset=GET_BOOK_SUNSET)
@bp.output(BookOut, description="The book, with its ETag.")
@bp.doc(operation_id="getBook", responses={**NOT_FOUND, **NOT_MODIFIED})
def get_book(book_id: int) -> object:
    """Get a book"""
    book = service.read_book(db.reads, book_id=book_id)
    return book, {"ETag": service.etag(book)}


@bp.put(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(BookCreate, arg_name="data")
@bp.output(BookOut, description="The replaced book, with its new ETag.")
@bp.doc(operation_id="replaceBook", responses={**NOT_FOUND, **CHANGE_ERRORS, **PRECONDITIONS})
def replace_book(book_id: int, data: BookCreate) -> object:
    """Replace a book"""
    book = service.replace_book(db.session, book_id=book_id, data=data, if_match=if_match())
    return book, {"ETag": service.etag(book)}


@bp.patch(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.input(BookUpdate, arg_name="data")
@bp.output(BookOut, description="The changed book, with its new ETag.")
@bp.doc(operation_id="updateBook", responses={**NOT_FOUND, **CHANGE_ERRORS, **PRECONDITIONS})
def update_book(book_id: int, data: BookUpdate) -> object:
    """Change some fields of a book"""
    book = service.update_book(db.session, book_id=book_id, data=data, if_match=if_match())
    return book, {"ETag": service.etag(book)}


@bp.delete(f"/{ID}")
@bp.auth_required(auth, roles=WRITE)
@bp.output({}, status_code=204, description="The book is gone.")
@bp.doc(operation_id="deleteBook", responses={**NOT_FOUND, **PRECONDITIONS, **DELETE_CONFLICT})
def delete_book(book_id: int) -> object:
    """Delete a book"""
    service.delete_book(db.session, book_id=book_id, if_match=if_match())
    return ""


@v2.get(f"/{ID}")
@cached("books", vary="public")
@v2.output(BookOutV2, description="The book, its authors a list, with its ETag.")
@v2.doc(operation_id="getBookV2", responses={**NOT_FOUND, **NOT_MODIFIED})
def get_book_v2(book_id: int) -> object:
    """Get a book (version 2)"""
    book = service.read_book(db.reads, book_id=book_id)
    return BookOutV2.of(book), {"ETag": service.etag(book, api_version=2)}
