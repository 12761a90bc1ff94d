"""Tests of the Flask-free core."""
