"""Schemathesis hooks for the run over the OpenAPI document (tests/reliability/).

Loaded by `st run` through SCHEMATHESIS_HOOKS. They add what the document cannot say in JSON
Schema and correct one reading of it:

- `format: isbn` draws ISBNs whose check digit is right (hyphenated or not, ISBN-10 or -13):
  the document describes the check digit, which no `pattern` can express.
- `negative_data_rejection_beyond_unknown_query` is `negative_data_rejection` less one case:
  a request whose only fault is a query parameter the document does not declare. The API
  ignores unknown query parameters on purpose (caches key on the known ones), and OpenAPI has
  no way to say so; schemathesis's own exemption misses it when it compares the declared
  parameters as sent (text) with their schema (integers). Nor is a value of another type for a
  text query parameter a fault: a query string is all text, and the value arrives as a string
  that the parameter's schema accepts.
- `positive_data_acceptance_beyond_paging` is `positive_data_acceptance` less the 422s that
  JSON Schema cannot foresee, about `page` and `cursor` (a cursor is opaque: only the values
  `links.next` carries are valid; `page` and `cursor` exclude each other; how deep page
  numbers go depends on `per_page`), about an `Idempotency-Key` already used for another
  request, about a filter that needs its companion (the audit log's `actor_id` needs
  `actor_kind`, `target_id` needs `target_type`), about what the database or the clock decide
  (a loan's `book_id` naming no book, a key's `expires_at` already past), and about an email
  address at a special-use domain (`.test`, `.invalid`, RFC 6761), which `format: email`
  admits. The document describes each of these 422s.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st
from jsonschema.validators import validator_for
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoverageScenario
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

__all__ = [
    "isbns",
    "negative_data_rejection_beyond_unknown_query",
    "positive_data_acceptance_beyond_paging",
]
# The fields of 422s that depend on more than the value sent (see the module's docstring).
BEYOND_SCHEMA = {
    "page", "cursor", "Idempotency-Key", "actor_id", "target_id", "book_id", "expires_at"
}  # fmt: skip
SPECIAL_USE_DOMAIN = "special-use or reserved name"


@st.composite
def isbns(draw: st.DrawFn) -> str:
    """A valid ISBN-13 or ISBN-10, as digits or with hyphens."""
    if draw(st.booleans()):
        body = draw(st.sampled_from(["978", "979"])) + draw(
            st.text("0123456789", min_size=9, max_size=9)
        )
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
        isbn = body + str((10 - total % 10) % 10)
    else:
        body = draw(st.text("0123456789", min_size=9, max_size=9))
        check = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
        isbn = body + ("X" if check == 10 else str(check))
    if draw(st.booleans()):
        isbn = f"{isbn[:3]}-{isbn[3:6]}-{isbn[6:]}"
    return isbn


schemathesis.openapi.format("isbn", isbns())


@schemathesis.check
def negative_data_rejection_beyond_unknown_query(ctx: Any, response: Any, case: Any) -> bool | None:
    """Invalid data is refused, unless its only fault is an undeclared query parameter, or
    a value of another type for a text query parameter that arrives as valid text (a query
    string is all text: an "object" sent there arrives as a string its schema accepts)."""
    data = case.meta.phase.data if case.meta is not None else None
    in_query = getattr(data, "parameter_location", None) == ParameterLocation.QUERY
    if in_query and (
        getattr(data, "scenario", None) == CoverageScenario.OBJECT_UNEXPECTED_PROPERTIES
        or _type_changed_in_text(case, data)
        or _sent_as_valid_text(case, getattr(data, "parameter", None))
    ):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


@schemathesis.check
def positive_data_acceptance_beyond_paging(ctx: Any, response: Any, case: Any) -> bool | None:
    """Valid data is accepted, unless refused only for what JSON Schema cannot say (above)."""
    if response.status_code == 422:
        details = response.json().get("details") or [{}]
        if all(
            detail.get("field") in BEYOND_SCHEMA
            or SPECIAL_USE_DOMAIN in str(detail.get("issue", ""))
            for detail in details
        ):
            return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


def _sent_as_valid_text(case: Any, name: str | None) -> bool:
    """Whether query parameter `name`, as the text it went out as, is valid for its schema."""
    value = (case.query or {}).get(name) if name else None
    texts = [str(leaf) for leaf in _leaves(value)]
    for parameter in case.operation.definition.raw.get("parameters", []):
        if texts and parameter.get("in") == "query" and parameter.get("name") == name:
            schema = parameter.get("schema", {})
            return all(validator_for(schema)(schema).is_valid(text) for text in texts)
    return False


def _leaves(value: Any) -> list[Any]:
    """The values a (possibly nested) list of query values goes out as, one per item."""
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [] if value is None or isinstance(value, bool) else [value]


def _type_changed_in_text(case: Any, data: Any) -> bool:
    """Whether the case's only faults are other types for query parameters that take text:
    whatever type it drew, the value goes out as text, which such a parameter accepts."""
    mutations = getattr(data, "mutations", None) or ()
    text_parameters = {
        parameter["name"]
        for parameter in case.operation.definition.raw.get("parameters", [])
        if parameter.get("in") == "query" and _takes_text(parameter.get("schema", {}))
    }
    return bool(mutations) and all(
        mutation.parameter_location == ParameterLocation.QUERY
        and mutation.parameter in text_parameters
        and set(mutation.keywords) <= {"anyOf", "type"}
        for mutation in mutations
    )


def _takes_text(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or any(
        option.get("type") == "string" for option in schema.get("anyOf", [])
    )
