"""`python -m bench --quick` runs every workload end to end on small data (no timing is asserted)."""
import re
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


def test_a_time_budget_cuts_runs_not_storms_and_the_table_says_so():
    """A budget too small for a second run of B1: one run of the full storm, reported as such."""
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "B1", "--sqlite-only", "--reports", "30",
                           "--runs", "3", "--budget", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped after 1 of 3 runs" in done.stderr
    assert "B1 sqlite's figures are of 1 run, not 3: the time budget" in done.stdout
    assert "except where the 1 s budget allowed fewer: B1 sqlite 1" in done.stdout
    assert re.search(r"errors, lost or doubled\s*\|\s*0\s*\|", done.stdout), done.stdout


def test_a_negative_budget_is_refused():
    done = subprocess.run([sys.executable, "-m", "bench", "--budget", "-5"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--budget: seconds, 0 for no limit" in done.stderr
