"""Tests of the web layer: hooks, WSGI layers and caching."""
