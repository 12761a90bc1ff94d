"""Schemathesis hooks for the run over the OpenAPI document (tests/reliability/).

Loaded by `st run` through SCHEMATHESIS_HOOKS. They add what the document cannot say in JSON
Schema and correct one reading of it:

- `format: isbn` draws ISBNs whose check digit is right (hyphenated or not, ISBN-10 or -13):
  the document describes the check digit, which no `pattern` can express.
- `negative_data_rejection_beyond_unknown_query` is `negative_data_rejection` less one case:
  a request whose only fault is a query parameter the document does not declare. The API
  ignores unknown query parameters on purpose (caches key on the known ones), and OpenAPI has
  no way to say so; schemathesis's own exemption misses it when it compares the declared
  parameters as sent (text) with their schema (integers).
- `positive_data_acceptance_beyond_paging` is `positive_data_acceptance` less the 422s about
  `page` and `cursor` that JSON Schema cannot foresee: a cursor is opaque (only the values
  `links.next` carries are valid), `page` and `cursor` exclude each other, and how deep page
  numbers go depends on `per_page`. The document describes each of these 422s.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoverageScenario
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

__all__ = [
    "isbns",
    "negative_data_rejection_beyond_unknown_query",
    "positive_data_acceptance_beyond_paging",
]
PAGING = {"page", "cursor"}


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
    """Invalid data is refused, unless its only fault is an undeclared query parameter."""
    data = case.meta.phase.data if case.meta is not None else None
    if (
        getattr(data, "scenario", None) == CoverageScenario.OBJECT_UNEXPECTED_PROPERTIES
        and getattr(data, "parameter_location", None) == ParameterLocation.QUERY
    ):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


@schemathesis.check
def positive_data_acceptance_beyond_paging(ctx: Any, response: Any, case: Any) -> bool | None:
    """Valid data is accepted, unless refused only for where the page starts (see above)."""
    if response.status_code == 422:
        details = response.json().get("details") or [{}]
        if all(detail.get("field") in PAGING for detail in details):
            return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result
