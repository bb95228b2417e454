"""What a running consumer process reports about itself, for `podium consumers --status`.

Each process keeps one small JSON file per consumer under the data folder, named by consumer
and process id, rewritten when its breaker changes state and removed when it stops. The files
only describe consumers on this host; a file whose process is gone is reported as stale.
"""

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

FOLDER = "consumer-state"


@dataclass(frozen=True)
class Report:
    consumer: str
    pid: int
    breaker: str
    failures: int
    since: float
    updated_at: float


def path_for(data_dir: Path, consumer: str, pid: int | None = None) -> Path:
    return data_dir / FOLDER / f"{consumer}.{pid or os.getpid()}.json"


def write(data_dir: Path, report: Report) -> None:
    target = path_for(data_dir, report.consumer, report.pid)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(report)))
    temp.replace(target)  # readers never see half a file


def remove(data_dir: Path, consumer: str) -> None:
    path_for(data_dir, consumer).unlink(missing_ok=True)


def read_all(data_dir: Path) -> list[Report]:
    reports = []
    for path in sorted((data_dir / FOLDER).glob("*.json")):
        try:
            data = json.loads(path.read_text()[:10_000])
            reports.append(Report(**data))
        except (OSError, ValueError, TypeError):
            continue  # half-written by an old version, or not ours: skip it
    return reports


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def now() -> float:
    return time.time()
