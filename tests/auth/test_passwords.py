"""Passwords: the policy a new one meets, and hashes replaced when their parameters change."""

from __future__ import annotations

import pytest

from shelf.auth import passwords
from shelf.core.errors import ValidationFailedError


@pytest.mark.parametrize(
    ("password", "issue"),
    [("short one", "shorter than 12"), ("password1234", "leaked"), ("PASSWORD1234", "leaked")],
)
def test_short_or_breached_passwords_are_refused(password: str, issue: str) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        passwords.check_password_policy(password)
    assert issue in refused.value.details[0]["issue"]
    assert refused.value.details[0]["field"] == "password"


def test_a_long_unlisted_passphrase_passes() -> None:
    passwords.check_password_policy("quartz lantern orbit seven")


def test_a_hash_of_other_parameters_verifies_and_is_replaced() -> None:
    passwords.configure(2048)
    old = passwords.hash_password("quartz lantern orbit seven")
    passwords.configure(1024)
    try:
        matches, new = passwords.verify_password(old, "quartz lantern orbit seven")
        assert matches
        assert new is not None
        assert passwords.verify_password(new, "quartz lantern orbit seven") == (True, None)
        assert passwords.verify_password(new, "wrong lantern orbit seven") == (False, None)
    finally:
        passwords.configure(1024)
