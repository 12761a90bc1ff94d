"""What only the templates list does: its default order, its fields, sorting by time, `q`.

Paging, sorting rules and `q` as every resource has them are tests/contract/.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.resources import TEMPLATES, create_template, template_path

NAMES = ["Welcome", "Overdue reminder", "Reservation ready", "100% off_sale", "Farewell"]


@pytest.fixture
def library(client: FlaskClient) -> FlaskClient:
    for name in NAMES:
        create_template(client, name=name)
    return client


def names(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"{TEMPLATES}?{query}")
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_the_default_order_is_creation(library: FlaskClient) -> None:
    assert names(library, "") == NAMES


def test_items_show_the_public_fields_only(library: FlaskClient) -> None:
    item = library.get(TEMPLATES).get_json()["items"][0]
    assert set(item) == {"templateid", "name", "description", "content", "created", "modified"}


def test_sort_by_created_and_modified(library: FlaskClient) -> None:
    assert names(library, "sort=-created") == NAMES[::-1]
    first = library.get(f"{TEMPLATES}?sort=created").get_json()["items"][0]
    library.patch(template_path(first), json={"description": "touched"})
    assert names(library, "sort=-modified")[0] == NAMES[0]
    assert names(library, "sort=modified")[-1] == NAMES[0]


def test_q_is_a_case_insensitive_substring_of_the_name(library: FlaskClient) -> None:
    assert names(library, "q=RE&sort=name") == [
        "Farewell",
        "Overdue reminder",
        "Reservation ready",
    ]
    assert names(library, "q=welcome") == ["Welcome"]
    assert names(library, "q=nothing") == []


def test_q_does_not_search_description_or_content(client: FlaskClient) -> None:
    create_template(client, name="Plain", description="needle", content="needle")
    assert names(client, "q=needle") == []
