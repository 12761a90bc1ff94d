"""The HTTP contract every resource keeps, checked for each of RESOURCES on SQLite and PostgreSQL.

One module per concern: conditional requests and concurrent writers (test_conditional), request
bodies (test_bodies), lists with paging, sorting and `q` (test_lists), the response cache
(test_caching), and access: 401/403 by scope, rate limits, 404/405 (test_access). The suite's
fixtures are in conftest.py, its plain helpers in tests/support/contract.py.

A resource joins with one line: its entry in RESOURCES in tests/support/resources.py. What only
one resource does is tested in its own directory.
"""
