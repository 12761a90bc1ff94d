"""`shelf clients`: register, list and revoke OAuth 2 clients."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from pydantic import ValidationError

from shelf.cli.database import session
from shelf.core.errors import NotFoundError
from shelf.oauth import service
from shelf.oauth.schemas import GRANT_TYPES, ClientCreate, ClientOut

__all__ = ["clients"]


@click.group(cls=AppGroup)
def clients() -> None:
    """Register, list and revoke OAuth 2 clients."""


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'client'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


@clients.command("create")
@click.option("--name", required=True, help="What the client is.")
@click.option("--scopes", required=True, help="Comma-separated scopes: the most it may get.")
@click.option("--public", is_flag=True, help="No secret (browser or mobile apps; PKCE).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeat for several.")
@click.option(
    "--grant",
    "grant_types",
    multiple=True,
    type=click.Choice(GRANT_TYPES),
    help="Repeat for several; default: client_credentials, or authorization_code and "
    "refresh_token for a public client (or one with redirect URIs).",
)
def clients_create(
    name: str,
    scopes: str,
    public: bool,
    redirect_uris: tuple[str, ...],
    grant_types: tuple[str, ...],
) -> None:
    """Register a client; its id, then its secret, are printed once on the first two lines."""
    try:
        data = ClientCreate(
            name=name,
            scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()],
            public=public,
            redirect_uris=list(redirect_uris),
            grant_types=list(grant_types) or None,
        )
    except ValidationError as error:
        raise click.BadParameter(_problems(error)) from error
    with session() as database:
        issued = service.create_client(database, data=data)
        # Alone on stdout, so that scripts can take them.
        click.echo(issued.client.client_id)
        if issued.secret is not None:
            click.echo(issued.secret)
        kind = "public" if issued.secret is None else "confidential"
        click.echo(
            f"{kind} client {name!r}: scopes={','.join(data.scopes)} "
            f"grants={','.join(data.grant_types or [])}"
            + (" (store the secret now: it cannot be shown again)" if issued.secret else ""),
            err=True,
        )


@clients.command("list")
def clients_list() -> None:
    """List clients (never their secrets)."""
    with session() as database:
        for row in service.all_clients(database):
            client = ClientOut.of(row)
            state = "revoked" if client.revoked_at else "active"
            kind = "public" if client.public else "confidential"
            click.echo(
                f"{client.client_id}\t{client.name}\t{kind}\t{','.join(client.scopes)}"
                f"\t{','.join(client.grant_types)}\t{state}\tcreated={client.created_at.isoformat()}"
            )


@clients.command("revoke")
@click.argument("client_id")
def clients_revoke(client_id: str) -> None:
    """Revoke a client: it gets no more tokens, and its refresh tokens stop working."""
    with session() as database:
        try:
            client = service.revoke_client(database, client_id=client_id)
        except NotFoundError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"revoked client {client.client_id} ({client.name})")
