"""CPU per request of one endpoint in-process, or its pyinstrument profile.

No server and no load generator: requests go through Flask's test client, so the figure is
stable on a noisy machine (about 5%) and shows what a change to the app costs or saves. It uses
the bench database (run `make bench` once first) and discards the request log lines.

    .venv/bin/python bench/profile.py /api/v1/books/{id}            # CPU and wall per request
    .venv/bin/python bench/profile.py --profile "/api/v1/books?page={page}&sort=title"

`{id}` becomes a random book id and `{page}` a random page on every request.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/shelf_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="e.g. /api/v1/books/{id}")
    parser.add_argument("-n", type=int, default=3000, help="requests to time")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile")
    args = parser.parse_args()

    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
    from shelf.app import create_app
    from shelf.config import Settings

    settings = Settings(
        app_env="production",
        secret_key="x" * 48,
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
    )
    client = create_app(settings).test_client()
    report = sys.stderr
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the request log lines, for the whole run

    def one() -> None:
        path = args.path.format(id=random.randint(1, 10_000), page=random.randint(1, 500))
        status = client.get(path).status_code
        if status != 200:
            sys.exit(f"{path} answered {status}")

    for _ in range(200):  # warm caches, pools and lazy imports
        one()
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.n):
            one()
        profiler.stop()
        print(profiler.output_text(color=False), file=report)
        return
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(args.n):
        one()
    cpu_us = (time.process_time() - cpu) / args.n * 1e6
    wall_us = (time.perf_counter() - wall) / args.n * 1e6
    print(f"{args.path}: {cpu_us:.0f} us CPU, {wall_us:.0f} us wall per request", file=report)


if __name__ == "__main__":
    main()
