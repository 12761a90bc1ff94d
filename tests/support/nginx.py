"""nginx with the shipped proxy configuration (deploy/nginx/), in front of a test's server."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests

from tests.support.servers import free_port
from tests.support.services import unavailable

__all__ = ["BufferingProxy"]

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "shelf.conf.template"
MAIN = """daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/shelf.conf;
}}
"""


class BufferingProxy:
    """nginx on a free port, configured by deploy/nginx/shelf.conf.template, before `upstream`."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
        if binary is None:
            unavailable("nginx is not installed")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # nginx's workers run as nobody under root
        site = TEMPLATE.read_text()
        site = site.replace("${SHELF_UPSTREAM}", f"127.0.0.1:{upstream_port}")
        (folder / "shelf.conf").write_text(site.replace("${PROXY_PORT}", f"127.0.0.1:{self.port}"))
        (folder / "nginx.conf").write_text(MAIN.format(folder=folder))
        self.process = subprocess.Popen(
            [str(binary), "-c", str(folder / "nginx.conf"), "-p", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"{self.url}/health", timeout=1)
                return
            except requests.RequestException:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    error_log = (
                        (folder / "error.log").read_text()
                        if (folder / "error.log").exists()
                        else ""
                    )
                    self.stop()
                    raise RuntimeError(f"nginx did not start:\n{error_log}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
