"""What only the books list does: sorting by several fields, its filters, `q` over two fields.

Paging, sorting rules and `q` as every resource has them are tests/contract/.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.checks import assert_problem
from tests.support.resources import BOOKS, create_book


@pytest.fixture
def shelf(client: FlaskClient) -> FlaskClient:
    create_book(
        client, title="Dune", author="Frank Herbert", published_year=1965, isbn="9780441013593"
    )
    create_book(client, title="Emma", author="Jane Austen", published_year=1815)
    create_book(client, title="Persuasion", author="Jane Austen", published_year=1817)
    create_book(client, title="Ubik", author="Philip K. Dick", published_year=1969)
    create_book(client, title="100% Dune_fan", author="Someone", published_year=2001)
    return client


def titles(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"{BOOKS}?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def test_sort_by_several_fields_and_descending(shelf: FlaskClient) -> None:
    assert titles(shelf, "sort=author,-published_year") == [
        "Dune",
        "Persuasion",
        "Emma",
        "Ubik",
        "100% Dune_fan",
    ]
    assert titles(shelf, "sort=-title")[0] == "Ubik"


def test_filter_by_author_and_year(shelf: FlaskClient) -> None:
    assert titles(shelf, "author=Jane%20Austen&sort=title") == ["Emma", "Persuasion"]
    assert titles(shelf, "published_year=1817") == ["Persuasion"]


def test_filter_by_isbn_in_any_form(shelf: FlaskClient) -> None:
    assert titles(shelf, "isbn=0-441-01359-7") == ["Dune"]


def test_q_is_a_case_insensitive_substring_of_title_or_author(shelf: FlaskClient) -> None:
    assert titles(shelf, "q=dune&sort=title") == ["100% Dune_fan", "Dune"]
    assert titles(shelf, "q=AUSTEN&sort=title") == ["Emma", "Persuasion"]


@pytest.mark.parametrize("q", ["ROUSSEAU", "jean-jacques"])
def test_q_finds_the_author_whatever_its_case(client: FlaskClient, q: str) -> None:
    create_book(client, title="Émile, ou De l'éducation", author="Jean-Jacques Rousseau")
    assert titles(client, f"q={q}") == ["Émile, ou De l'éducation"]


@pytest.mark.parametrize("query", ["published_year=abc", "isbn=123", "author="])
def test_bad_filters_are_422(client: FlaskClient, query: str) -> None:
    body = assert_problem(client.get(f"{BOOKS}?{query}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == query.split("=")[0]
