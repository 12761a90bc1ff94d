"""HTTP endpoints of loans: members borrow and return their own, `loans:admin` everyone's.

Every read is the caller's own view, answered from the database and never cached: an
authenticated answer carries `Cache-Control: no-store` (`shelf.web.finisher`), and a
per-caller cache entry would be cleared by nearly every loan anyway.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import url_for

from shelf.auth.schemes import auth, current_principal
from shelf.core.db import utcnow
from shelf.core.errors import UnauthorizedError
from shelf.core.pagination import Page
from shelf.core.principal import Principal
from shelf.extensions import db
from shelf.idempotency.decorator import idempotent
from shelf.loans import service
from shelf.loans.schemas import LoanCreate, LoanOut, LoanQuery
from shelf.web.links import make_page
from shelf.web.responses import BODY_ERRORS, LIST_ERRORS, NOT_MODIFIED

__all__ = ["bp"]

bp = APIBlueprint(
    "loans",
    __name__,
    tag={
        "name": "Loans",
        "description": "Borrowing and returning books. Members see and manage their own loans; "
        "`loans:admin` (librarians) everyone's. A loan or user you may not see is a 404.",
    },
)
USER_LOANS = "/users/<int:user_id>/loans"
LOAN = "/loans/<int:loan_id>"
# `loans:admin` acts for everyone, so it needs neither of the others.
READ = ["loans:read", "loans:admin"]
WRITE = ["loans:write", "loans:admin"]
CANNOT_READ = {403: "The credentials hold neither loans:read nor loans:admin."}
CANNOT_WRITE = {403: "The credentials hold neither loans:write nor loans:admin."}
NO_USER = {404: "No user has this id, or not one whose loans you may see."}
NO_LOAN = {404: "No loan has this id, or not one you may see."}
LEND_ERRORS = {
    **CANNOT_WRITE,
    **NO_USER,
    **BODY_ERRORS,
    409: "`BOOK_UNAVAILABLE`: every copy is on loan; `ALREADY_BORROWED`: the user has this "
    "book on loan already; `USER_INACTIVE`: the account is deactivated.",
    422: "Invalid values; `book_id` naming no book is a 422 with `details[0].field` `book_id`.",
}


def _caller() -> Principal:
    # `auth_required` let the request in, so it has a principal.
    principal = current_principal()
    if principal is None:
        raise UnauthorizedError("Send credentials.")
    return principal


@bp.post(USER_LOANS)
@bp.auth_required(auth, roles=WRITE)
@idempotent
@bp.input(LoanCreate, arg_name="data")
@bp.output(LoanOut, status_code=201, description="The loan; Location is its URL.")
@bp.doc(operation_id="createLoan", responses=LEND_ERRORS)
def create_loan(user_id: int, data: LoanCreate) -> object:
    """Lend a book to a user"""
    loan = service.create_loan(db.session, user_id=user_id, data=data, actor=_caller())
    location = url_for(".get_loan", loan_id=loan.id)
    return LoanOut.of(loan, now=utcnow()), {"Location": location}


@bp.get(USER_LOANS)
@bp.auth_required(auth, roles=READ)
@bp.input(LoanQuery, location="query", arg_name="query")
@bp.output(Page[LoanOut], description="One page of the user's loans, oldest first.")
@bp.doc(operation_id="listLoans", responses={**CANNOT_READ, **NO_USER, **LIST_ERRORS})
def list_loans(user_id: int, query: LoanQuery) -> object:
    """List a user's loans"""
    listing = service.list_loans(db.reads, user_id=user_id, query=query, actor=_caller())
    return make_page(LoanOut, listing, query)


@bp.get(LOAN)
@bp.auth_required(auth, roles=READ)
@bp.output(LoanOut, description="The loan.")
@bp.doc(operation_id="getLoan", responses={**CANNOT_READ, **NO_LOAN, **NOT_MODIFIED})
def get_loan(loan_id: int) -> object:
    """Get a loan"""
    loan = service.read_loan(db.reads, loan_id=loan_id, actor=_caller())
    return LoanOut.of(loan, now=utcnow())


@bp.post(f"{LOAN}/return")
@bp.auth_required(auth, roles=WRITE)
@idempotent
@bp.output(LoanOut, description="The loan, returned.")
@bp.doc(
    operation_id="returnLoan",
    responses={**CANNOT_WRITE, **NO_LOAN, 409: "`ALREADY_RETURNED`: it came back before."},
)
def return_loan(loan_id: int) -> object:
    """Return a borrowed book"""
    loan = service.return_loan(db.session, loan_id=loan_id, actor=_caller())
    return LoanOut.of(loan, now=utcnow())
