"""Marks every test in this folder `reliability`, and gives them private servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.private_postgres import PrivatePostgres, private_postgres

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the test's own, which it may stop, freeze and cut off."""
    with private_postgres() as server:
        yield server
