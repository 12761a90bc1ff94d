"""CPU per request of one endpoint in-process, or its pyinstrument profile.

No server and no load generator: each request is a direct call of the WSGI app with an environ
built beforehand, so the figure is what the app itself spends (stable to about 5% on a noisy
machine) and shows what a change costs or saves. It uses the bench database (run `make bench`
once first) and discards the request log lines.

    .venv/bin/python bench/profile.py /api/v1/books/{id}            # CPU and wall per request
    .venv/bin/python bench/profile.py /api/v1/books/42              # the same book: cache hits
    .venv/bin/python bench/profile.py --profile "/api/v1/books?page={page}&sort=title"
    .venv/bin/python bench/profile.py -H "X-API-KEY: shelf_..." /api/v1/templates/{uuid}
    .venv/bin/python bench/profile.py -X POST -H "X-API-KEY: shelf_..." /api/v1/books \
        -d '{"title": "T", "author": "A"}'

`{id}` becomes a random book id and `{page}` a random page on every request.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from typing import Any

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/shelf_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
WARM_UP = 300  # requests before timing: caches, pools and lazy imports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="e.g. /api/v1/books/{id}")
    parser.add_argument("-n", type=int, default=5000, help="requests to time")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("-X", "--method", default="GET", help="the request method")
    parser.add_argument("-d", "--data", help="a JSON request body")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile")
    args = parser.parse_args()

    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
    from werkzeug.test import EnvironBuilder

    from shelf.app import create_app
    from shelf.config import Settings

    settings = Settings(
        app_env="production",
        secret_key="x" * 48,
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        default_rate_limit=100_000_000,
    )
    app = create_app(settings)
    headers = dict(header.split(":", 1) for header in args.header)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    report = sys.stderr
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the request log lines, for the whole run
    statuses: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def environs(count: int) -> list[dict[str, Any]]:
        paths = [
            args.path.format(id=random.randint(1, 10_000), page=random.randint(1, 500))
            for _ in range(count)
        ]
        return [
            EnvironBuilder(
                path,
                method=args.method,
                headers=headers,
                data=args.data,
                content_type="application/json" if args.data else None,
            ).get_environ()
            for path in paths
        ]

    def serve(batch: list[dict[str, Any]]) -> None:
        for environ in batch:
            body = app.wsgi_app(environ, start_response)
            b"".join(body)
            body.close()  # type: ignore[attr-defined]

    serve(environs(WARM_UP))
    if not statuses[-1].startswith(("200", "201")):
        sys.exit(f"{args.path} answered {statuses[-1]}")
    batch = environs(args.n)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        serve(batch)
        profiler.stop()
        print(profiler.output_text(color=False), file=report)
        return
    cpu, wall = time.process_time(), time.perf_counter()
    serve(batch)
    cpu_us = (time.process_time() - cpu) / args.n * 1e6
    wall_us = (time.perf_counter() - wall) / args.n * 1e6
    print(f"{args.path}: {cpu_us:.0f} us CPU, {wall_us:.0f} us wall per request", file=report)


if __name__ == "__main__":
    main()
