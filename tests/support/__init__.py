"""What the tests share: real services and servers, factories, resource descriptions, helpers.

Test modules import from here, never from one another; `tests/conftest.py` holds only the
fixtures, built on these.
"""
