"""A tiny `podium bench --scale` on the test stack, on SQLite and on the session's private
PostgreSQL: every row and ratio lands in the report, and no process, queue or schema is left.
No timing is asserted."""

import json
import os
import re
from pathlib import Path

import psycopg
import pytest

from bench.environment import BENCH_PREFIX
from bench.scale import EVENTS, ORDERS, ScalePlan
from bench.scale_run import run_scale
from tests.support.management import Management
from workers.runtime.settings import Settings

TINY = ScalePlan(
    seconds=1.0,
    concurrency=4,
    warmup=2,
    events=40,
    consumer_budget=10.0,
    workers=(1, 2),
    consumers=(1, 2),
)


async def test_a_tiny_scale_run_reports_every_count_and_leaves_nothing(
    settings: Settings,
    postgres_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    management: Management,
) -> None:
    out = tmp_path / "bench"
    assert await run_scale(settings, TINY, out_dir=out, postgres_url=postgres_url) == 0

    [path] = out.glob("scale-*.json")
    report = json.loads(path.read_text())
    keys = [(r["backend"], r["what"], r["processes"]) for r in report["rows"]]
    assert keys == [
        (backend, what, n)
        for backend in ("sqlite", "postgresql")
        for what, counts in ((ORDERS, (1, 2)), (EVENTS, (1, 2)))
        for n in counts
    ]
    for row in report["rows"]:
        assert row["count"] > 0 and row["rate"] > 0, row
        assert row["ratio"] == pytest.approx(1.0) if row["processes"] == 1 else row["ratio"] > 0
    assert report["config"]["machine_before"]["cpus"] == os.cpu_count()
    table = capsys.readouterr().out
    assert "load average" in table and "postgresql" in table
    if (os.cpu_count() or 0) <= 2:
        assert "cannot add CPU" in table
    assert not list(out.glob("scale-*/"))  # the run's folder is gone (no child wrote a log)

    assert not _children(), "a worker or consumer process outlived the run"
    for kind in ("queues", "exchanges"):
        names = [o["name"] for o in await management.call("GET", f"/{kind}/{management.vhost}")]
        assert not [name for name in names if name.startswith(BENCH_PREFIX)], kind
    with psycopg.connect(postgres_url) as conn:
        schemas = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")]
    assert not [s for s in schemas if re.match(r"b[0-9a-f]{6}_", s)]


async def test_without_postgresql_it_says_so_in_one_line(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = ScalePlan(1.0, 2, 1, 10, 10.0, workers=(1,), consumers=(1,))
    out = tmp_path / "bench"
    assert await run_scale(settings, plan, out_dir=out) == 0
    table = capsys.readouterr().out
    assert table.count("postgresql: not measured") == 1
    [path] = out.glob("scale-*.json")
    report = json.loads(path.read_text())
    assert {r["backend"] for r in report["rows"]} == {"sqlite"}


def _children() -> list[int]:
    """This process's live bench worker or consumer processes, from /proc (the session's
    servers are its children too)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z" and b"bench.worker_process" in command:
            found.append(int(entry.name))
    return found
