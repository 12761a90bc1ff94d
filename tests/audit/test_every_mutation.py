"""Every operation that changes something writes its audit record: each POST, PUT, PATCH and
DELETE of the OpenAPI document is performed with its example (tests/support/mutations.py), and
its record is looked for. An operation without an example fails here."""

from __future__ import annotations

import json

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from shelf.audit.service import SECRET_NAME
from tests.support.audit import recorded
from tests.support.mutations import MUTATIONS, documented_mutations

DOCUMENTED = documented_mutations()
EXAMPLES = "tests/support/mutations.py"


@pytest.mark.parametrize("operation", DOCUMENTED)
def test_the_operation_writes_its_audit_record(
    app: APIFlask, client: FlaskClient, operation: str
) -> None:
    mutation = MUTATIONS.get(operation)
    assert mutation is not None, f"{operation} has no example in {EXAMPLES} (MUTATIONS)"
    method, template = operation.split(" ", 1)
    call = mutation.prepare(app, client)
    if call.headers is not None:  # its own credentials only
        client = app.test_client()
    request_id = f"audit-{method}-{len(call.params)}"
    with recorded(app) as records:
        response = client.open(
            template.format(**call.params),
            method=method.upper(),
            json=call.json,
            data=call.form,
            headers={**(call.headers or {}), "X-Request-ID": request_id},
        )
        assert response.status_code < 300, (operation, response.get_json())
    if mutation.action is None:
        assert records == [], f"{operation} changes nothing, yet wrote records"
        return
    target_id = call.target_id or str(response.get_json()[mutation.id_field])
    matching = [
        record
        for record in records
        if (record["action"], record["target_type"], record["target_id"])
        == (mutation.action, mutation.target_type, target_id)
    ]
    assert len(matching) == 1, (operation, records)
    assert {record["request_id"] for record in records} == {request_id}
    if call.headers is None:  # the admin key's
        assert {record["actor_kind"] for record in records} == {"api_key"}
    # A secret the answer shows once (a new key's, a client's) is in no record.
    body = response.get_json(silent=True)
    shown = [v for k, v in (body or {}).items() if SECRET_NAME.search(k) and isinstance(v, str)]
    assert not [value for value in shown if value in json.dumps(records, default=str)]
    for record in records:
        assert not [key for key in record["changes"] if SECRET_NAME.search(key)], record


def test_every_example_names_a_documented_operation() -> None:
    stale = sorted(set(MUTATIONS) - set(DOCUMENTED))
    assert stale == [], f"examples in {EXAMPLES} for operations no longer documented"
