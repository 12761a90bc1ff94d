"""The suite's settings come from its tests, never from the shell that runs it.

A developer who exported DATABASE_URL and REDIS_URL (as the README shows) or a deployment's
variables must get the same run as CI. Every variable `Settings` reads is removed from the
environment when the test package is imported (tests/__init__.py), so neither in-process apps
nor the servers the tests start see them; where PostgreSQL and Redis are comes from
TEST_POSTGRES_URL and TEST_REDIS_URL only.
"""

from __future__ import annotations

import os

from pydantic import AliasChoices

from shelf.config import Settings

__all__ = ["SETTINGS_VARIABLES", "scrub_environment"]

# Read by prometheus_client at import, and by the server's metrics: a shell's value would put
# the tests' in-process metrics into multiprocess mode.
OTHER_VARIABLES = ("PROMETHEUS_MULTIPROC_DIR",)


def _names() -> frozenset[str]:
    names = set(OTHER_VARIABLES)
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(choice).upper() for choice in field.validation_alias.choices)
    return frozenset(names)


SETTINGS_VARIABLES = _names()


def scrub_environment() -> list[str]:
    """Remove every variable Settings reads (any case) from the environment; return their names."""
    removed = [name for name in os.environ if name.upper() in SETTINGS_VARIABLES]
    for name in removed:
        del os.environ[name]
    return removed
