"""Listing templates: pagination, sorting and the name filter, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.books.test_routes import assert_problem
from tests.content_templates.test_routes import TEMPLATES, create, url

NAMES = ["Welcome", "Overdue reminder", "Reservation ready", "100% off_sale", "Farewell"]


@pytest.fixture
def library(client: FlaskClient) -> FlaskClient:
    for name in NAMES:
        create(client, name=name)
    return client


def page_of(link: str) -> int:
    return int(parse_qs(urlsplit(link).query)["page"][0])


def names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"{TEMPLATES}?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_an_empty_list_is_200_with_no_items(client: FlaskClient) -> None:
    body = client.get(TEMPLATES).get_json()
    assert body["items"] == []
    assert body["total"] == 0
    assert body["page"] == 1
    assert body["per_page"] == 20


def test_the_default_order_is_creation(library: FlaskClient) -> None:
    assert names(library, "") == NAMES


def test_items_show_the_public_fields_only(library: FlaskClient) -> None:
    item = library.get(TEMPLATES).get_json()["items"][0]
    assert set(item) == {"templateid", "name", "description", "content", "created", "modified"}


def test_pages_have_links_and_a_link_header(library: FlaskClient) -> None:
    response = library.get(f"{TEMPLATES}?per_page=2&page=2&sort=name")
    body = response.get_json()
    assert body["total"] == 5
    assert [item["name"] for item in body["items"]] == ["Overdue reminder", "Reservation ready"]
    assert page_of(body["links"]["prev"]) == 1
    assert page_of(body["links"]["next"]) == 3
    assert page_of(body["links"]["last"]) == 3
    header = response.headers["Link"]
    for rel in ("first", "prev", "next", "last"):
        assert f'rel="{rel}"' in header
    assert "sort=name" in header


def test_the_last_page_has_no_next(library: FlaskClient) -> None:
    body = library.get(f"{TEMPLATES}?per_page=2&page=3").get_json()
    assert len(body["items"]) == 1
    assert body["links"]["next"] is None


def test_a_page_past_the_end_is_empty(library: FlaskClient) -> None:
    body = library.get(f"{TEMPLATES}?per_page=2&page=9").get_json()
    assert body["items"] == []
    assert body["total"] == 5


def test_per_page_over_the_maximum_is_clamped(library: FlaskClient) -> None:
    assert library.get(f"{TEMPLATES}?per_page=1000").get_json()["per_page"] == 100


@pytest.mark.parametrize("query", ["per_page=0", "per_page=-5", "page=0", "page=x", "per_page=1.5"])
def test_bad_paging_is_422(client: FlaskClient, query: str) -> None:
    assert_problem(client.get(f"{TEMPLATES}?{query}"), 422, "VALIDATION_FAILED")


def test_sort_by_name_either_way(library: FlaskClient) -> None:
    assert names(library, "sort=name") == sorted(NAMES)
    assert names(library, "sort=-name") == sorted(NAMES, reverse=True)


def test_sort_by_created_and_modified(library: FlaskClient) -> None:
    assert names(library, "sort=-created") == NAMES[::-1]
    first = library.get(f"{TEMPLATES}?sort=created").get_json()["items"][0]
    library.patch(url(first), json={"description": "touched"})
    assert names(library, "sort=-modified")[0] == NAMES[0]
    assert names(library, "sort=modified")[-1] == NAMES[0]


def test_equal_sort_keys_keep_a_stable_order(client: FlaskClient) -> None:
    ids = [create(client, name="Same")["templateid"] for _ in range(5)]
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"{TEMPLATES}?sort=name&per_page=2&page={page}").get_json()
        seen += [item["templateid"] for item in body["items"]]
    assert seen == ids


@pytest.mark.parametrize("sort", ["tidx", "templateid", "content", "name,-id", ",", "name;drop"])
def test_sorting_by_an_unknown_field_is_422_listing_the_allowed(
    client: FlaskClient, sort: str
) -> None:
    body = assert_problem(client.get(f"{TEMPLATES}?sort={sort}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "sort"
    assert "name, created, modified" in body["details"][0]["hint"]


def test_q_is_a_case_insensitive_substring_of_the_name(library: FlaskClient) -> None:
    assert names(library, "q=RE&sort=name") == [
        "Farewell",
        "Overdue reminder",
        "Reservation ready",
    ]
    assert names(library, "q=welcome") == ["Welcome"]
    assert names(library, "q=nothing") == []


def test_q_does_not_search_description_or_content(client: FlaskClient) -> None:
    create(client, name="Plain", description="needle", content="needle")
    assert names(client, "q=needle") == []


def test_q_treats_wildcards_literally(library: FlaskClient) -> None:
    create(library, name="Back\\slash")
    assert names(library, "q=%25") == ["100% off_sale"]
    assert names(library, "q=_") == ["100% off_sale"]
    assert names(library, "q=%5C") == ["Back\\slash"]


def test_q_folds_case_beyond_ascii(client: FlaskClient) -> None:
    create(client, name="Éclair")
    assert names(client, "q=éCLAIR") == ["Éclair"]


def test_q_and_paging_count_only_matches(library: FlaskClient) -> None:
    body = library.get(f"{TEMPLATES}?q=re&per_page=1").get_json()
    assert body["total"] == 3
    assert "q=re" in body["links"]["next"]


@pytest.mark.parametrize("query", ["q=%00", "q=", "q=%20%20", f"q={'x' * 201}"])
def test_bad_filters_are_422(client: FlaskClient, query: str) -> None:
    body = assert_problem(client.get(f"{TEMPLATES}?{query}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "q"


def test_a_write_is_seen_by_the_next_cached_read(client: FlaskClient) -> None:
    create(client, name="First")
    assert client.get(TEMPLATES).headers["X-Cache"] == "MISS"
    assert client.get(TEMPLATES).headers["X-Cache"] == "HIT"
    create(client, name="Second")
    response = client.get(TEMPLATES)
    assert response.headers["X-Cache"] == "MISS"
    assert [item["name"] for item in response.get_json()["items"]] == ["First", "Second"]
