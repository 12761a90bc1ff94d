"""`shelf apikeys`: issue, list, revoke and import API keys."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from shelf.auth import api_keys as auth_service
from shelf.cli.database import session
from shelf.core.errors import NotFoundError, ValidationFailedError

__all__ = ["MAX_KEY_LIFETIME", "apikeys"]

MAX_KEY_LIFETIME = timedelta(days=36_500)
LIFETIME_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def _lifetime(ctx: click.Context, param: click.Parameter, text: str | None) -> timedelta | None:
    if text is None:
        return None
    number, unit = text[:-1], text[-1:]
    # isascii too: isdigit alone accepts digits of other scripts, such as "٣".
    if unit not in LIFETIME_UNITS or not number.isascii() or not number.isdigit():
        raise click.BadParameter("use a number and a unit: 90d, 12h or 30m")
    try:
        lifetime: timedelta | None = timedelta(**{LIFETIME_UNITS[unit]: int(number)})
    except OverflowError:
        lifetime = None
    if lifetime is None or lifetime > MAX_KEY_LIFETIME:
        raise click.BadParameter("at most 36500d (100 years); omit --expires-in for no expiry")
    return lifetime


def _scopes(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    try:
        return auth_service.parse_scopes(value)
    except ValidationFailedError as error:
        raise click.BadParameter(error.message) from error


@click.group(cls=AppGroup)
def apikeys() -> None:
    """Issue, list and revoke API keys."""


@apikeys.command("create")
@click.option("--owner", required=True, help="Who the key is for.")
@click.option("--scopes", required=True, callback=_scopes, help="Comma-separated scope names.")
@click.option(
    "--expires-in",
    "lifetime",
    callback=_lifetime,
    help="Lifetime such as 90d, 12h or 30m; no expiry if omitted.",
)
def apikeys_create(owner: str, scopes: list[str], lifetime: timedelta | None) -> None:
    """Issue a key; the secret is printed once, alone on the first line."""
    with session() as database:
        issued = auth_service.create_key(database, owner=owner, scopes=scopes, expires_in=lifetime)
        # The secret alone on stdout, so that scripts can take it: $(shelf apikeys create ...).
        click.echo(issued.secret)
        expiry = issued.key.expires_at.isoformat() if issued.key.expires_at else "never"
        click.echo(
            f"id={issued.key.id} owner={owner} scopes={','.join(scopes)} expires={expiry}"
            " (store the key now: it cannot be shown again)",
            err=True,
        )


@apikeys.command("list")
def apikeys_list() -> None:
    """List keys (never their secrets)."""
    with session() as database:
        for key in auth_service.list_keys(database):
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat() if key.last_used_at else "never"
            expires = key.expires_at.isoformat() if key.expires_at else "never"
            click.echo(
                f"{key.id}\t{key.prefix}…\t{key.owner}\t{key.scopes.replace(' ', ',')}\t{state}"
                f"\tcreated={key.created_at.isoformat()}\tlast_used={used}\texpires={expires}"
            )


@apikeys.command("revoke")
@click.argument("key_id", type=int)
def apikeys_revoke(key_id: int) -> None:
    """Revoke a key by id; it stops working within a second everywhere."""
    with session() as database:
        try:
            key = auth_service.revoke_key(database, key_id=key_id)
        except NotFoundError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"revoked key {key.id} ({key.owner})")


@apikeys.command("import-redis")
@click.option(
    "--scopes",
    default="templates:read,templates:write",
    show_default=True,
    callback=_scopes,
    help="Scopes for the imported keys.",
)
@click.option("--hash", "hash_name", default="sec_apikeys", show_default=True, help="Redis hash.")
def apikeys_import_redis(scopes: list[str], hash_name: str) -> None:
    """Import the plain keys of the Redis hash `sec_apikeys` (key -> owner), hashed."""
    redis = current_app.extensions["shelf.redis"]  # the app's client, from make_redis(settings)
    if redis is None:
        raise click.ClickException("REDIS_URL (or REDIS_HOST) must point at the older deployment")
    with session() as database:
        imported, present = auth_service.import_redis_keys(
            database, redis=redis, scopes=scopes, hash_name=hash_name
        )
    click.echo(f"imported {imported} key(s); {present} already present")
