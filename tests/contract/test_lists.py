"""Lists on every resource: paging and its links and Link header, sorting, and the `q` search."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest
from flask.testing import FlaskClient

from tests.support.checks import assert_problem, page_of
from tests.support.contract import EVERY, LABELS
from tests.support.resources import RESOURCES, Resource


def labels(client: FlaskClient, resource: Resource, query: str) -> list[str]:
    response = client.get(f"{resource.path}?{query}")
    assert response.status_code == 200, response.get_json()
    return [item[resource.label] for item in response.get_json()["items"]]


# Lists: paging, sorting, `q`


@EVERY
def test_an_empty_list_is_200_with_no_items(client: FlaskClient, resource: Resource) -> None:
    body = client.get(resource.path).get_json()
    assert body["items"] == []
    assert body["total"] == 0
    assert body["page"] == 1
    assert body["per_page"] == 20


@EVERY
def test_pages_have_links_and_a_link_header(listed: FlaskClient, resource: Resource) -> None:
    response = listed.get(f"{resource.path}?per_page=2&page=2&sort={resource.label}")
    body = response.get_json()
    assert body["total"] == 5
    assert [item[resource.label] for item in body["items"]] == sorted(LABELS)[2:4]
    assert page_of(body["links"]["prev"]) == 1
    assert page_of(body["links"]["last"]) == 3
    after = listed.get(urljoin(resource.path, body["links"]["next"])).get_json()  # a cursor link
    assert after["page"] == 3
    assert [item[resource.label] for item in after["items"]] == sorted(LABELS)[4:]
    header = response.headers["Link"]
    for rel in ("first", "prev", "next", "last"):
        assert f'rel="{rel}"' in header
    assert f"sort={resource.label}" in header


@EVERY
def test_a_listed_item_reads_as_the_item_alone(listed: FlaskClient, resource: Resource) -> None:
    # A page's rows go to JSON as the database gives them; an item read alone goes through its
    # schema: the two must not differ by a field, a type or a timestamp's format.
    response = listed.get(f"{resource.path}?per_page=3")
    raw = response.get_data(as_text=True)
    items = response.get_json()["items"]
    assert len(items) == 3
    for item in items:
        alone = listed.get(resource.item_path(item))
        assert alone.status_code == 200
        assert item == alone.get_json()
        assert alone.get_data(as_text=True).strip("{}") in raw  # byte for byte, order included


@EVERY
def test_the_last_page_has_no_next(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?per_page=2&page=3").get_json()
    assert len(body["items"]) == 1
    assert body["links"]["next"] is None


@EVERY
def test_a_page_past_the_end_is_empty(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?per_page=2&page=9").get_json()
    assert body["items"] == []
    assert body["total"] == 5


@EVERY
def test_per_page_over_the_maximum_is_clamped(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?per_page=1000").get_json()
    assert body["per_page"] == 100
    assert len(body["items"]) == 5


@EVERY
@pytest.mark.parametrize("query", ["per_page=0", "per_page=-5", "page=0", "page=x", "per_page=1.5"])
def test_bad_paging_is_422(client: FlaskClient, resource: Resource, query: str) -> None:
    assert_problem(client.get(f"{resource.path}?{query}"), 422, "VALIDATION_FAILED")


@EVERY
def test_sort_by_the_label_either_way(listed: FlaskClient, resource: Resource) -> None:
    assert labels(listed, resource, f"sort={resource.label}") == sorted(LABELS)
    assert labels(listed, resource, f"sort=-{resource.label}") == sorted(LABELS, reverse=True)


@EVERY
def test_equal_sort_keys_keep_a_stable_order(client: FlaskClient, resource: Resource) -> None:
    ids = [resource.create_labelled(client, "Same")[resource.id_field] for _ in range(5)]
    seen = []
    for page in (1, 2, 3):
        query = f"sort={resource.label}&per_page=2&page={page}"
        body = client.get(f"{resource.path}?{query}").get_json()
        seen += [item[resource.id_field] for item in body["items"]]
    assert seen == ids


@pytest.mark.parametrize(
    ("resource", "sort"),
    [
        pytest.param(r, sort, id=f"{r}-{sort}")
        for r in RESOURCES
        for sort in (*r.unsortable, ",", f"{r.label};drop", f"--{r.label}", f"{r.label},-nothing")
    ],
)
def test_sorting_by_anything_else_is_422_listing_the_allowed(
    client: FlaskClient, resource: Resource, sort: str
) -> None:
    body = assert_problem(client.get(f"{resource.path}?sort={sort}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "sort"
    assert ", ".join(resource.sort_fields) in body["details"][0]["hint"]


@EVERY
def test_q_treats_wildcards_literally(listed: FlaskClient, resource: Resource) -> None:
    resource.create_labelled(listed, "Back\\slash and /slash")
    assert labels(listed, resource, "q=%25") == ["100% off_sale"]
    assert labels(listed, resource, "q=_") == ["100% off_sale"]
    assert labels(listed, resource, "q=%5C") == ["Back\\slash and /slash"]
    assert labels(listed, resource, "q=/") == ["Back\\slash and /slash"]


@EVERY
@pytest.mark.parametrize("q", ["émile", "ÉMILE", "Émile", "éMILE"])
def test_q_folds_case_beyond_ascii(client: FlaskClient, resource: Resource, q: str) -> None:
    resource.create_labelled(client, "Émile, ou De l'éducation")
    resource.create_labelled(client, "Emile without an accent")
    assert labels(client, resource, f"q={q}") == ["Émile, ou De l'éducation"]


@EVERY
def test_q_and_paging_count_only_matches(listed: FlaskClient, resource: Resource) -> None:
    body = listed.get(f"{resource.path}?q=re&per_page=1").get_json()
    assert body["total"] == len([label for label in LABELS if "re" in label.lower()])
    assert "q=re" in body["links"]["next"]


@EVERY
@pytest.mark.parametrize("query", ["q=%00", "q=", "q=%20%20", f"q={'x' * 201}"])
def test_bad_searches_are_422_naming_q(client: FlaskClient, resource: Resource, query: str) -> None:
    body = assert_problem(client.get(f"{resource.path}?{query}"), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "q"
