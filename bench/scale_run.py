"""`podium bench --scale`: run bench/scale.py, print its table, write its JSON report."""

import asyncio
import json
import shutil
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.namespace import ensure_namespace
from bench.run import quiet_logs
from bench.scale import ScalePlan, ScaleRow, machine, measure_scale
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

NO_POSTGRES = (
    "postgresql: not measured, no PostgreSQL is configured (PODIUM_DATABASE_URL; "
    "`podium dev up --postgres` sets one)"
)


async def run_scale(
    settings: Settings,
    plan: ScalePlan,
    *,
    out_dir: Path | None = None,
    postgres_url: str | None = None,
) -> int:
    """Measure, print the table, write the report; 0 on success. `postgres_url`: the
    PostgreSQL to measure on (default the settings' `database_url`; none: SQLite only)."""
    if postgres_url is None and settings.database_url is not None:
        postgres_url = settings.database_url.get_secret_value()
    started = datetime.now(UTC)
    folder = (out_dir or settings.data_dir.parent / "bench") / f"scale-{started:%Y%m%dT%H%M%S}"
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    before = machine()
    settings = settings.model_copy(update={"temporal_namespace": settings.bench_namespace})
    client = await connect_temporal(settings)
    await ensure_namespace(client)
    with quiet_logs():
        rows = await measure_scale(settings, client, plan, folder, postgres_url)
    report = {
        "config": asdict(plan)
        | {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine_before": before,
            "machine_after": machine(),
            "postgresql": postgres_url is not None,
        },
        "rows": [asdict(r) | {"ratio": ratio(rows, r)} for r in rows],
    }
    path = folder.with_suffix(".json")
    await asyncio.to_thread(path.write_text, json.dumps(report, indent=2))
    await asyncio.to_thread(_remove_if_quiet, folder)
    print(format_scale(report))
    print(f"\nreport: {path}")
    return 0


def ratio(rows: list[ScaleRow], row: ScaleRow) -> float | None:
    """`row`'s rate over the rate of one process of its backend and kind."""
    one = [r for r in rows if (r.backend, r.what, r.processes) == (row.backend, row.what, 1)]
    if not one or one[0].rate <= 0:
        return None
    return row.rate / one[0].rate


def format_scale(report: dict[str, Any]) -> str:
    config = report["config"]
    cpus = config["machine_before"]["cpus"]
    lines = [
        f"scale: {cpus} cores; load average {_load(config['machine_before'])} before, "
        f"{_load(config['machine_after'])} after",
        f"orders: {config['concurrency']} in flight for {config['seconds']:g} s per worker "
        f"count; events: {config['events']} pre-filled per consumer count",
    ]
    if cpus is not None and cpus <= 2:
        lines.append(
            f"On a {cpus}-core machine more processes cannot add CPU: these ratios measure "
            "overhead and contention, not scale-out."
        )
    if not config["postgresql"]:
        lines.append(NO_POSTGRES)
    lines.append("")
    lines.append(
        f"{'backend':<11}{'what':<10}{'processes':>10}{'counted':>9}{'s':>7}"
        f"{'per s':>9}{'ratio':>7}"
    )
    for row in report["rows"]:
        ratio_text = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"{row['backend']:<11}{row['what']:<10}{row['processes']:>10}{row['count']:>9}"
            f"{row['seconds']:>7.1f}{row['rate']:>9.1f}{ratio_text:>7}"
        )
    return "\n".join(lines)


def _load(m: dict[str, Any]) -> str:
    return " ".join(f"{x:.2f}" for x in m["load_average"])


def _remove_if_quiet(folder: Path) -> None:
    """The run's folder holds its databases and the child processes' logs: kept only when a
    child wrote something (a warning or an error worth reading)."""
    logs = [p for p in folder.glob("*.log") if p.stat().st_size]
    if not logs:
        shutil.rmtree(folder, ignore_errors=True)
