"""`shelf serve`: the production server, or Flask's reloading development server with `--dev`.

A command of the group itself, like Flask's `run`, so looking it up loads no app: it must set
PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client, which reads it once, at
import time, to decide whether the server's workers share their metrics through that folder.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import click
from flask.cli import ScriptInfo, pass_script_info, show_server_banner
from werkzeug.serving import run_simple

from shelf.cli.settings import load_settings

__all__ = ["prepare_metrics_dir", "serve"]


@click.command()
@click.option("--dev", is_flag=True, help="Run Flask's reloading development server instead.")
@pass_script_info
def serve(info: ScriptInfo, dev: bool) -> None:
    """Start the HTTP server (granian, or SERVER=gunicorn; workers from WEB_CONCURRENCY)."""
    settings = load_settings()
    _check_the_port_is_free(settings.host, settings.port)
    if dev:
        # Flask's `app.run` does nothing under its CLI, so start the server as its `run` does.
        app = info.load_app()
        app.debug = True
        show_server_banner(True, app.name)
        run_simple(
            settings.host, settings.port, app, use_reloader=True, use_debugger=True, threaded=True
        )
        return
    prepare_metrics_dir()
    # Imported only now, after prepare_metrics_dir: shelf.server imports prometheus_client.
    from shelf.server import serve as run_server

    run_server(settings)


def prepare_metrics_dir() -> None:
    """Give the server's workers an empty folder to share metrics through.

    Set before prometheus_client is imported. A folder named by PROMETHEUS_MULTIPROC_DIR is
    created when missing (an empty volume) and emptied of an earlier run's files, as
    prometheus_client requires.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shelf-metrics-")
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):
        stale.unlink(missing_ok=True)


def _check_the_port_is_free(host: str, port: int) -> None:
    """One line naming the port and the setting when something already listens there, rather
    than the server's traceback from each worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {error.strerror}; stop what uses the port, "
                "or set PORT (or HOST) to another"
            ) from error
