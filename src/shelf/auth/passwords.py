"""Passwords: argon2id hashes (argon2-cffi), and the policy a new password must meet.

A new password has at least 12 characters and is not among the 30,000 most common passwords of
public breaches (the list zxcvbn ships: no network call). Hashes carry their parameters; a hash
made with older ones is replaced at the next successful sign-in.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from shelf.core.errors import ValidationFailedError

__all__ = [
    "MIN_LENGTH",
    "check_password_policy",
    "configure",
    "dummy_verify",
    "hash_password",
    "is_breached",
    "verify_password",
]

MIN_LENGTH = 12
# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, 3 passes);
# `configure` sets the memory (PASSWORD_HASH_MEMORY_KIB).
_hasher = PasswordHasher()


def configure(memory_kib: int) -> None:
    """Hash new passwords with `memory_kib` KiB of memory; hashes made with other parameters
    are replaced at their next sign-in."""
    global _hasher  # one hasher per process, set by the app factory
    if _hasher.memory_cost != memory_kib:
        _hasher = PasswordHasher(memory_cost=memory_kib)
        _dummy_hash.cache_clear()


@functools.cache
def _breached() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("a password no account has")


def is_breached(password: str) -> bool:
    """Whether `password` is on the list of common breached passwords (case-insensitive)."""
    return password.lower() in _breached()


def check_password_policy(password: str, *, field: str = "password") -> None:
    """Raise 422 naming `field` when `password` is too short or a known breached password."""
    if len(password) < MIN_LENGTH:
        issue = f"shorter than {MIN_LENGTH} characters"
    elif is_breached(password):
        issue = "found in lists of passwords leaked in data breaches"
    else:
        return
    raise ValidationFailedError(
        f"The {field} is {issue}.",
        details=[
            {
                "field": field,
                "issue": issue,
                "hint": f"Choose a passphrase of {MIN_LENGTH} or more characters that is not "
                "used elsewhere, e.g. four unrelated words.",
            }
        ],
    )


def hash_password(password: str) -> str:
    """The argon2id hash to store for `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> tuple[bool, str | None]:
    """Whether `password` matches; and, when it does but the hash's parameters are outdated,
    the new hash to store."""
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if _hasher.check_needs_rehash(password_hash):
        return True, _hasher.hash(password)
    return True, None


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, for an account that does not exist: a sign-in
    takes as long whether the email is known or not."""
    verify_password(_dummy_hash(), password)
