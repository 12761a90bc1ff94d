"""Credentials: API keys (and the token endpoint built on them)."""
