"""`python -m bench --quick` runs every workload end to end on small data (no timing is asserted)."""
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_bench_runs_end_to_end_and_prints_its_table():
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout
    for workload in ("B1 sqlite", "B2 sqlite", "B3 sqlite", "B3 engine", "B4 sqlite"):
        assert f"| {workload}" in table
    assert "errors, lost or doubled" in table
    assert "ix_clock_event_due" in table  # the tick's query uses its index
    assert "problems:" not in table
