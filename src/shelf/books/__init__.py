"""The books resource: the library catalogue."""
