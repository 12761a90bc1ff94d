"""Shelf's test suite.

It runs on its own settings, whatever the calling shell exports: the variables Settings reads
are removed here, before any test module (or prometheus_client, which reads its own at import)
is loaded. See tests/support/environment.py.
"""

from tests.support.environment import scrub_environment

scrub_environment()
