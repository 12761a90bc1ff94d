"""`shelf openapi`: the app's OpenAPI document, printed or written to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import click
from apiflask import APIFlask
from flask import current_app
from flask.cli import with_appcontext

__all__ = ["openapi"]


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file.")
@with_appcontext
def openapi(output: str | None) -> None:
    """Print the OpenAPI document."""
    spec = json.dumps(cast(APIFlask, current_app).spec, indent=2)
    if output:
        Path(output).write_text(spec + "\n")
    else:
        click.echo(spec)
