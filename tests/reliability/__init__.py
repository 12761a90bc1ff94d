"""Faults and abuse, on private PostgreSQL and Redis servers: `make test-reliability`.

Every test here is marked `reliability` and left out of `make test`. Each fault test prints its
worst response time and its count of 5xx answers; docs/RELIABILITY.md names the guarantee each
one proves.
"""
