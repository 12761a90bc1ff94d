"""`make bench`: load-test the production server scenario by scenario, against a floor.

Starts the deployed server (`shelf serve`, production settings, PostgreSQL and Redis) with 10,000
seeded books, a bare Flask app under granian as the floor, and drives each scenario with wrk from
this separate process. Every scenario runs BENCH_RUNS times, rounds alternating between scenarios,
and medians are reported with their share of the floor measured in the same run.

Environment (defaults in brackets): BENCH_DURATION seconds per measurement [10], BENCH_RUNS [2],
BENCH_WARMUP seconds before each measurement [4], BENCH_CACHE_WARMUP the same for cache-hit
scenarios, which visit every id [10], BENCH_CONNECTIONS [32], BENCH_WRK_THREADS [2],
BENCH_BOOKS [10000], BENCH_TEMPLATES [10000], BENCH_ONLY comma-separated scenario ids [all],
BENCH_OUTPUT folder [bench/results], BENCH_SERVER_LOG file for the servers' output [discarded],
BENCH_DATABASE_URL [postgresql+psycopg://postgres@127.0.0.1:5432/shelf_bench] (dropped and
recreated), BENCH_REDIS_URL [redis://127.0.0.1:6379/15] (flushed),
BENCH_LARGE_BOOKS [0: off], the books of a second database (BENCH_DATABASE_URL's name + `_large`,
seeded once and kept between runs) on which the large-catalogue scenarios (L...) run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
from sqlalchemy.engine import make_url

import report
import servers
from shelf.core.pagination import MAX_DEPTH

LUA = Path(__file__).parent / "lua"


def setting(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}", default)


DURATION = int(setting("DURATION", "10"))
RUNS = int(setting("RUNS", "3"))  # rounds; each figure is the median of its rounds
WARMUP = int(setting("WARMUP", "4"))
# One walk of the ids; a scenario on the cache walks again until one walk has visited them all.
CACHE_WARMUP = int(setting("CACHE_WARMUP", "10"))
MAX_WALKS = 6
CONNECTIONS = int(setting("CONNECTIONS", "32"))
WRK_THREADS = int(setting("WRK_THREADS", "2"))
BOOKS = int(setting("BOOKS", "10000"))
TEMPLATES = int(setting("TEMPLATES", "10000"))
DATABASE_URL = setting("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/shelf_bench")
REDIS_URL = setting("REDIS_URL", "redis://127.0.0.1:6379/15")
OUTPUT = Path(setting("OUTPUT", str(Path(__file__).parent / "results")))
LARGE_BOOKS = int(setting("LARGE_BOOKS", "0"))
LARGE_DATABASE_URL = str(
    make_url(DATABASE_URL).set(database=f"{make_url(DATABASE_URL).database}_large")
    .render_as_string(hide_password=False)
)  # fmt: skip


@dataclass
class Scenario:
    """One load pattern: the server it runs on, the features it needs, and its targets."""

    id: str
    title: str
    script: str
    server: str  # "cached", "uncached" or "floor"
    needs: tuple[str, ...] = ()
    target_share: float | None = None  # of the floor's requests/s
    read: bool = False  # reads must keep p99 under the latency target
    warm_walk: bool = False  # warm up by visiting every id, so measured reads hit the cache
    # At most this many times the server CPU per request of another scenario (by id).
    cpu_within: tuple[str, float] | None = None
    runs: list[dict[str, float]] = field(default_factory=list)


SCENARIOS = [
    Scenario("S", "GET /health: every hook, log line and metric, no handler work", "health.lua",
             "cached"),
    Scenario("1", "GET /books/{id}, cache hit", "book_get.lua", "cached", ("cache",), 0.40,
             read=True, warm_walk=True),
    Scenario("2", "GET /books/{id}, cache off (database)", "book_get.lua", "uncached", (), 0.15,
             read=True),
    Scenario("3", "GET /books?page=N&per_page=20&sort=title", "book_list.lua", "cached",
             read=True),
    Scenario("4", "GET /templates/{id}, API key", "template_get.lua", "cached",
             ("apikeys", "templates", "cache"), 0.30, read=True, warm_walk=True),
    Scenario("4b", "GET /templates/{id}, bearer token (beside 4)", "template_get.lua", "cached",
             ("apikeys", "templates", "cache", "tokens"), read=True, warm_walk=True,
             cpu_within=("4", 1.10)),
    Scenario("5", "POST /books, API key", "book_post.lua", "cached", ("apikeys",)),
    Scenario("5b", "POST /books, bearer token", "book_post.lua", "cached", ("tokens",)),
    Scenario("6", "mix: 90% reads of 1, 3, 4; 10% POST", "mix.lua", "cached",
             ("apikeys", "templates", "cache")),
    Scenario("7", "floor: bare Flask, constant JSON, granian", "floor.lua", "floor"),
    # The large catalogue, cache off: each beside the same scenario on the small one.
    Scenario("8", "GET /books?sort=title, first page, cache off", "book_first.lua", "uncached",
             ("large",), read=True),
    Scenario("8L", "the same on the large catalogue", "book_first.lua", "large", ("large",),
             read=True),
    Scenario("9", "GET /books?sort=title&cursor=, deep pages, cache off", "book_deep.lua",
             "uncached", ("large",), read=True),
    Scenario("9L", "the same on the large catalogue", "book_deep.lua", "large", ("large",),
             read=True),
    Scenario("10", "GET /books?author=, cache off", "book_author.lua", "uncached", ("large",),
             read=True),
    Scenario("10L", "the same on the large catalogue", "book_author.lua", "large", ("large",),
             read=True),
    Scenario("11", "GET /books?q=, cache off", "book_search.lua", "uncached", ("large",),
             read=True),
    Scenario("11L", "the same on the large catalogue", "book_search.lua", "large", ("large",),
             read=True),
    Scenario("12L", "GET /books/{id}, cache off, on the large catalogue (beside 2)",
             "book_get.lua", "large", ("large",), read=True),
]  # fmt: skip
P99_TARGET_MS = 25.0


def wrk(server: servers.Server, script: str, seconds: int, args: list[str]) -> dict[str, float]:
    """Run wrk once; requests/s, p50 and p99 in ms, errors, and the server's CPU per request."""
    port = server.port
    cpu_before, load_before = server.cpu_seconds(), os.getloadavg()[0]
    command = [
        "wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "2s",
        "-s", script, f"http://127.0.0.1:{port}", "--", *args,
    ]  # fmt: skip
    done = subprocess.run(command, cwd=LUA, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    out = done.stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    kinds = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
    cpu = server.cpu_seconds() - cpu_before
    return {
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": sum(kinds.values()),
        "error_kinds": kinds,  # wrk's socket errors by kind; "status" counts non-2xx/3xx answers
        "requests": raw["requests"],
        # Less noisy than requests/s on a shared machine: what the server spent on each request.
        "server_cpu_us": round(cpu / max(raw["requests"], 1) * 1e6, 1),
        # Other load on the machine when the measurement started (1-minute average).
        "loadavg": load_before,
    }


def warm_up(server: servers.Server, scenario: Scenario, args: list[str]) -> None:
    """Warm the server up; a cached scenario walks until one walk has visited every id.

    On a slow machine one walk of CACHE_WARMUP seconds may not reach every id (a miss costs
    several times a hit); the next walk passes the cached ids quickly and goes on from there.
    """
    if not scenario.warm_walk:
        wrk(server, scenario.script, WARMUP, [*args, "walk=0"])
        return
    ids = TEMPLATES if scenario.script.startswith("template") else BOOKS
    for _ in range(MAX_WALKS):
        if wrk(server, scenario.script, CACHE_WARMUP, [*args, "walk=1"])["requests"] >= ids:
            return
    print(f"bench: scenario {scenario.id}: {MAX_WALKS} walks did not visit every id", flush=True)


def bench_client(env: dict[str, str]) -> tuple[tuple[str, str] | None, str]:
    """An admin client's id and secret, made with `shelf clients create`."""
    made = subprocess.run(
        [servers.BIN / "shelf", "clients", "create", "--name", "bench", "--scopes", "admin"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if made.returncode != 0:
        return None, (made.stderr.strip().splitlines() or ["`shelf clients` failed"])[-1]
    printed = made.stdout.splitlines()[:2]  # the client id, then its secret (then log lines)
    if len(printed) != 2 or not all(printed):
        return None, "`shelf clients create` printed no client id and secret"
    return (printed[0].strip(), printed[1].strip()), ""


def bearer_token(port: int, client: tuple[str, str]) -> str:
    """A fresh access token (they live 15 minutes) from the client-credentials grant."""
    body = {"grant_type": "client_credentials", "client_id": client[0], "client_secret": client[1]}
    status, data = servers.request(port, "POST", "/api/v1/auth/token", body, form=True)
    if status != 200 or not isinstance(data, dict) or "access_token" not in data:
        raise RuntimeError(f"POST /api/v1/auth/token answered {status}: {data}")
    return str(data["access_token"])


def prepare() -> None:
    """A fresh database with the seeded books, and an empty Redis database."""
    print(f"bench: preparing {make_url(DATABASE_URL).database} with {BOOKS} books", flush=True)
    servers.recreate_database(DATABASE_URL)
    servers.seed_books(DATABASE_URL, BOOKS)
    redis.Redis.from_url(REDIS_URL).flushdb()


def prepare_large() -> None:
    """The large catalogue's database: seeded when it does not hold LARGE_BOOKS books yet."""
    if servers.book_count(LARGE_DATABASE_URL) == LARGE_BOOKS:
        print(f"bench: reusing {make_url(LARGE_DATABASE_URL).database}", flush=True)
        servers.migrate(LARGE_DATABASE_URL)
        return
    print(f"bench: preparing {make_url(LARGE_DATABASE_URL).database} with {LARGE_BOOKS} books",
          flush=True)  # fmt: skip
    servers.recreate_database(LARGE_DATABASE_URL)
    servers.seed_books(LARGE_DATABASE_URL, LARGE_BOOKS)


def deep_cursors(url: str, books: int, path: Path) -> None:
    """Cursors of pages at random depths of the list sorted by title, one a line."""
    servers.write_cursors(url, books, "title", path)


def trim_books() -> None:
    """Remove what the write scenarios added, so every round reads the same catalogue."""
    conninfo = make_url(DATABASE_URL).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False)) as conn:
        conn.execute("DELETE FROM books WHERE id > %s", (BOOKS,))


def ensure_wrk() -> None:
    """Install wrk from Debian's packages when it is missing (the bench needs root for that)."""
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        sys.exit("bench: wrk is missing; install it with `apt-get install wrk`")
    print("bench: installing wrk", flush=True)
    apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=apt)


def main() -> int:
    ensure_wrk()
    chosen = {s for s in setting("ONLY", "").split(",") if s}
    scenarios = [s for s in SCENARIOS if not chosen or s.id in chosen or s.server == "floor"]
    base_env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DEFAULT_RATE_LIMIT": "100000000",  # limits are checked on every request, never hit
        "LOG_LEVEL": "INFO",
    }
    workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
    prepare()
    missing: dict[str, str] = {}
    if LARGE_BOOKS:
        prepare_large()
    else:
        missing["large"] = "off: set BENCH_LARGE_BOOKS (e.g. 1000000) to run it"
    if not servers.has_setting("cache_enabled"):
        missing["cache"] = "no response cache (CACHE_ENABLED) yet"
    key, why = servers.create_api_key(base_env)
    if key is None:
        missing["apikeys"] = f"no API keys yet ({why})"
        missing["templates"] = "needs an API key"
        key = ""
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        started = {
            "cached": servers.shelf_server("shelf", base_env, CACHE_ENABLED="true"),
            "uncached": servers.shelf_server("shelf-no-cache", base_env, CACHE_ENABLED="false"),
            "floor": servers.floor_server(workers),
        }
        if LARGE_BOOKS:
            large_env = {**base_env, "DATABASE_URL": LARGE_DATABASE_URL}
            started["large"] = servers.shelf_server("shelf-large", large_env, CACHE_ENABLED="false")
        for server in started.values():
            stack.callback(server.stop)
        port = started["cached"].port
        ids_file = Path(tmp) / "template_ids.txt"
        if "templates" not in missing:
            status, _ = servers.request(
                port, "GET", "/api/v1/templates", headers={"X-API-KEY": key}
            )
            if status in (404, 405):
                missing["templates"] = f"no /api/v1/templates yet (GET answered {status})"
            else:
                print(f"bench: creating {TEMPLATES} templates", flush=True)
                try:
                    ids = servers.seed_templates(port, key, TEMPLATES)
                    ids_file.write_text("\n".join(ids) + "\n")
                except RuntimeError as error:
                    missing["templates"] = f"templates could not be created ({error})"
        client, why = bench_client(base_env)
        if client is None:
            missing["tokens"] = f"no bearer tokens yet ({why})"
        print("bench: vacuuming and waiting for the machine to settle", flush=True)
        servers.settle(DATABASE_URL)
        pages = min(BOOKS // 20, MAX_DEPTH // 20)  # page numbers reach MAX_DEPTH rows
        args = [f"pages={pages}", f"key={key}", f"threads={WRK_THREADS}"]
        if ids_file.exists():
            args.append(f"ids={ids_file}")
        catalogue = {"small": [f"max_id={BOOKS}"], "large": [f"max_id={LARGE_BOOKS}"]}
        for size, (url, books) in {
            "small": (DATABASE_URL, BOOKS), "large": (LARGE_DATABASE_URL, LARGE_BOOKS)
        }.items():  # fmt: skip
            if books:
                deep_cursors(url, books, Path(tmp) / f"cursors-{size}.txt")
                catalogue[size].append(f"cursors={Path(tmp) / f'cursors-{size}.txt'}")
        for round_number in range(1, RUNS + 1):
            token = bearer_token(port, client) if client else ""
            for scenario in scenarios:
                lacking = [missing[need] for need in scenario.needs if need in missing]
                if lacking:
                    continue
                size = "large" if scenario.server == "large" else "small"
                run_args = [*args, *catalogue[size]]
                if "tokens" in scenario.needs:  # the others keep the API key, or no credential
                    run_args.append(f"bearer={token}")
                server = started[scenario.server]
                warm_up(server, scenario, run_args)
                result = wrk(server, scenario.script, DURATION, run_args)
                scenario.runs.append(result)
                print(
                    f"bench: round {round_number} scenario {scenario.id:>2}: "
                    f"{result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:6.2f} ms  errors {result['errors']:.0f}  "
                    f"server CPU {result['server_cpu_us']:5.0f} us/req  "
                    f"load {result['loadavg']:.1f}",
                    flush=True,
                )
            trim_books()
    results = report.summarise(scenarios, missing, P99_TARGET_MS, meta(workers))
    stem = OUTPUT / datetime.now(UTC).strftime("%Y-%m-%d")
    report.write_all(results, stem)
    print(Path(f"{stem}.md").read_text())
    return 0


def meta(workers: int) -> dict[str, object]:
    """Where and how the run was made: the machine, the versions, the settings of the run."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown",
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {cpu}",
        "python": sys.version.split()[0],
        "commit": commit,
        "workers": workers,
        "connections": CONNECTIONS,
        "wrk_threads": WRK_THREADS,
        "duration_s": DURATION,
        "runs": RUNS,
        "warmup_s": WARMUP,
        "books": BOOKS,
        "large_books": LARGE_BOOKS,
        "elapsed_s": round(time.monotonic() - START, 1),
    }


START = time.monotonic()

if __name__ == "__main__":
    sys.exit(main())
