"""`podium bench --log-cost` measures a consumer's INFO line both ways side by side, with no
stack, and leaves no log file behind."""

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.log_cost import WAYS, measure_log_cost


def test_both_ways_are_measured_with_their_ratios() -> None:
    before = set(Path(tempfile.gettempdir()).glob("podium-log-cost-*"))
    cost = measure_log_cost(lines=200, rounds=2)
    assert set(cost.emit_us) == set(cost.total_us) == set(WAYS)
    assert all(value > 0 for value in [*cost.emit_us.values(), *cost.total_us.values()])
    header, columns, *rows = cost.table()
    assert "200 lines x 2 rounds" in header and "until written" in columns
    assert [row.split("  ")[0].strip() for row in rows] == list(WAYS)
    assert rows[0].split()[-3:] == ["1.00", f"{cost.total_us[WAYS[0]]:.1f}", "1.00"]
    assert set(Path(tempfile.gettempdir()).glob("podium-log-cost-*")) == before


def test_the_command_prints_the_table_and_the_machines_load(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "podium", "bench", "--log-cost", "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].endswith("after") and "load average" in out[0]
    assert [line.split("  ")[0] for line in out[-2:]] == list(WAYS)
