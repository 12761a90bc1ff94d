"""The settings a `shelf` run reads from the environment, or its one-line refusal."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from shelf.config import Settings, describe_error

__all__ = ["load_settings"]


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 with one line naming what is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        click.echo(f"shelf: {describe_error(error)}", err=True)
        # SystemExit, not a click exception: FlaskGroup turns any Exception raised while it
        # loads the app for `--help` into a printed traceback.
        sys.exit(2)
