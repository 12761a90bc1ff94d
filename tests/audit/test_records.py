"""What the audit log records of each write through the API: who, what, from where, and the
fields set, in the write's own transaction."""

from __future__ import annotations

from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from shelf.auth import api_keys
from shelf.auth.models import ApiKey
from shelf.extensions import db
from tests.support.audit import recorded
from tests.support.contract import EVERY
from tests.support.people import bearer_headers, make_user
from tests.support.resources import BOOKS, Resource, create_book

AUDIT_NAMES = {"books": "book", "templates": "template"}
CLIENT_IP = "203.0.113.7"


def key_actor(app: APIFlask, client: FlaskClient) -> str:
    """The actor id of the API key `client` sends."""
    digest = api_keys.digest(client.environ_base["HTTP_X_API_KEY"])
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == digest))
    return str(key_id)


def send(client: FlaskClient, method: str, path: str, request_id: str, **kwargs: Any) -> Any:
    response = client.open(
        path,
        method=method,
        headers={"X-Request-ID": request_id},
        environ_base={"REMOTE_ADDR": CLIENT_IP},
        **kwargs,
    )
    assert response.status_code < 300, response.get_json()
    assert response.headers["X-Request-ID"] == request_id
    return response


@EVERY
def test_each_write_records_who_what_where_and_the_fields_it_set(
    app: APIFlask, client: FlaskClient, resource: Resource
) -> None:
    name, actor = AUDIT_NAMES[resource.name], key_actor(app, client)
    with recorded(app) as created:
        item = send(client, "POST", resource.path, "req-create", json=resource.new).get_json()
    path, item_id = resource.item_path(item), str(item[resource.id_field])
    with recorded(app) as patched:
        send(client, "PATCH", path, "req-patch", json=resource.change)
    with recorded(app) as replaced:
        send(client, "PUT", path, "req-put", json=resource.new)
    with recorded(app) as deleted:
        send(client, "DELETE", path, "req-delete")

    for records, action, request_id in [
        (created, "create", "req-create"),
        (patched, "update", "req-patch"),
        (replaced, "update", "req-put"),
        (deleted, "delete", "req-delete"),
    ]:
        (record,) = records
        assert record["action"] == f"{name}.{action}"
        assert (record["target_type"], record["target_id"]) == (name, item_id)
        assert (record["actor_kind"], record["actor_id"]) == ("api_key", actor)
        assert (record["request_id"], record["client_ip"]) == (request_id, CLIENT_IP)
    # A new item: every field it was given, as stored; its id is the target, not a change.
    assert created[0]["changes"].items() >= resource.new.items()
    assert resource.id_field not in created[0]["changes"]
    # An update: only the fields whose value changed, with their new values.
    assert patched[0]["changes"] == resource.change
    assert replaced[0]["changes"] == {key: created[0]["changes"][key] for key in resource.change}
    assert deleted[0]["changes"] == {}


def test_a_book_s_creation_shows_every_field_but_its_key_and_version(
    app: APIFlask, client: FlaskClient
) -> None:
    with recorded(app) as records:
        book = create_book(client, isbn="978-0-13-468599-1", published_year=2019, copies=2)
    (record,) = records
    assert record["target_id"] == str(book["id"])
    assert record["changes"] == {
        "title": "Dune",
        "author": "Frank Herbert",
        "isbn": "9780134685991",
        "published_year": 2019,
        "description": "",
        "copies": 2,
        "on_loan": 0,
        "created_at": record["changes"]["created_at"],
        "updated_at": record["changes"]["updated_at"],
    }
    assert record["changes"]["created_at"].startswith(book["created_at"][:19])


def test_a_write_that_changes_nothing_records_nothing(app: APIFlask, client: FlaskClient) -> None:
    book = create_book(client, copies=2)
    with recorded(app) as records:
        assert client.patch(f"{BOOKS}/{book['id']}", json={"copies": 2}).status_code == 200
    assert records == []


def test_a_refused_write_records_nothing(app: APIFlask, client: FlaskClient) -> None:
    create_book(client, isbn="978-0-13-468599-1")
    with recorded(app) as records:
        taken = client.post(BOOKS, json={"title": "T", "author": "A", "isbn": "9780134685991"})
        assert taken.status_code == 409
        assert client.patch(f"{BOOKS}/999999", json={"copies": 1}).status_code == 404
    assert records == []  # the record rolled back with the write it described


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_write_guarded_by_a_stale_etag_records_nothing(
    app: APIFlask, client: FlaskClient, method: str
) -> None:
    book = create_book(client)
    path, stale = f"{BOOKS}/{book['id']}", f'"book-{book["id"]}-v0"'
    with recorded(app) as records:
        response = client.open(path, method=method, json={"copies": 9}, headers={"If-Match": stale})
        assert response.status_code == 412
    assert records == []


def test_a_person_s_change_is_recorded_as_theirs(app: APIFlask) -> None:
    user = make_user(app)
    headers = bearer_headers(app, user)
    with recorded(app) as records:
        response = app.test_client().patch(
            "/api/v1/users/me", json={"full_name": "Ada Lovelace"}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
    (record,) = records
    assert (record["actor_kind"], record["actor_id"]) == ("user", str(user.id))
    assert (record["action"], record["target_id"]) == ("user.update", str(user.id))
    assert record["changes"] == {"full_name": "Ada Lovelace"}
