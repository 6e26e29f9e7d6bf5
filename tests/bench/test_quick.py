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


def test_filing_cost_is_measured_for_each_channel():
    """`python -m bench.filing` files through every channel and counts each filing's statements."""
    import re

    done = subprocess.run([sys.executable, "-m", "bench.filing", "--filings", "5"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = dict(re.findall(r"^\| (web|api|hotline) \| [0-9.]+ ms \| (\d+) \|$", done.stdout, re.MULTILINE))
    assert set(rows) == {"web", "api", "hotline"}, done.stdout
    assert all(int(statements) > 0 for statements in rows.values())


def test_filing_cost_refuses_an_unknown_channel():
    done = subprocess.run([sys.executable, "-m", "bench.filing", "--channels", "fax"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown channel 'fax'" in done.stderr
