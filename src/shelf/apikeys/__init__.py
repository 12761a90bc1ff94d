"""API keys over HTTP, for admins: create, list, revoke, rotate."""
