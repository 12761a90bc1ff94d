"""The templates table as the migrations build it: the older template service's layout."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

COLUMNS = ["tidx", "templateid", "name", "description", "content", "created", "modified"]


def test_the_migration_creates_exactly_the_seven_columns(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        schema = inspect(engine)
        columns = {column["name"]: column for column in schema.get_columns("templates")}
        primary_key = schema.get_pk_constraint("templates")["constrained_columns"]
        unique = schema.get_unique_constraints("templates")
    finally:
        engine.dispose()
    assert list(columns) == COLUMNS
    assert primary_key == ["tidx"]
    assert [constraint["column_names"] for constraint in unique] == [["templateid"]]
    assert not any(column["nullable"] for column in columns.values())
    for name in ("name", "description", "content"):
        assert columns[name]["default"] in ("''", "''::text")
