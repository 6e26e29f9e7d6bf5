"""`python -m bench`: run B1–B4 and print one table (docs/performance.md says what each row means).

    python -m bench                 # the full run: PostgreSQL and SQLite, 5 runs each, under 10 minutes
    python -m bench --budget 0      # every run of B1 however long it takes (see --budget)
    python -m bench --quick         # small sizes on SQLite only: checks that everything runs end to end
    python -m bench --only B2,B3    # some workloads (B4 is measured inside the others)
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import dataclass, replace

from bench.common import BenchError, Row, format_table, median, run_child, scratch_database
from bench.dataset import DUE, Scale


@dataclass(frozen=True)
class Plan:
    backends: tuple[str, ...]
    reports: int
    clients: int
    runs: int
    contracts: int
    small: Scale      # B2's first load step
    grown: Scale      # what it grows by, with B3's month
    small_label: str
    grown_label: str
    engine_incidents: int


# `make bench` stays under 10 minutes: the budget, with room for make's own start and for a last run
# of B1 slower than the ones before it (they vary by about ±20 %).
BUDGET_SECONDS = 540.0


def plan(quick: bool, sqlite_only: bool) -> Plan:
    if quick:
        return Plan(("sqlite",), reports=60, clients=5, runs=1, contracts=5,
                    small=Scale(closed=450, open=40, due=10), grown=Scale(closed=1_800, open=200, report_incidents=200),
                    small_label="500", grown_label="2,500", engine_incidents=2_000)
    backends = ("sqlite",) if sqlite_only else ("postgresql", "sqlite")
    return Plan(backends, reports=5_000, clients=50, runs=5, contracts=200,
                small=Scale(closed=9_000, open=1_000 - DUE, due=DUE),
                grown=Scale(closed=891_000, open=99_000, report_incidents=10_000),
                small_label="10,000", grown_label="1,000,000", engine_incidents=100_000)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ratio_row(workload, measure, value, floor, unit, target, ok, note="") -> Row:
    return Row(workload, measure, value, unit, target, ok, floor=floor, ratio=value / floor if floor else None,
               note=note)


def bench_intake(p: Plan, backend: str, pg: str, rows: list[Row], extra: list[str],
                 until: float | None) -> int:
    """B1 on one database; returns how many runs fitted before `until`."""
    from bench.intake import run_intake, summary

    log(f"B1 intake on {backend}: {p.reports} reports from {p.clients} clients, {p.runs} runs (desk and floor)")
    with scratch_database(backend, "intake", pg) as url:
        result = run_intake(url, reports=p.reports, clients=p.clients, runs=p.runs, until=until, log=log)
    s = summary(result)
    name = f"B1 {backend}"
    mix = " + ".join(result.channels)
    runs = len(result.throughput)
    rows.append(ratio_row(name, f"reports/s ({mix})", s["throughput"], s["floor_throughput"], "/s",
                          "ratio ≥ 0.40", s["throughput"] / s["floor_throughput"] >= 0.40,
                          note="" if runs == p.runs else
                          f"B1 {backend}'s figures are of {runs} run{'s' if runs > 1 else ''}, not {p.runs}: the time budget"))
    rows.append(ratio_row(name, "p99 latency, client", s["p99_ms"], s["floor_p99_ms"], "ms", "≤ 100 ms",
                          s["p99_ms"] <= 100))
    rows.append(Row(name, "p99 time in the worker", s["server_p99_ms"], "ms", "(queue excluded)", None))
    rows.append(Row(name, "worker time, last fifth / first", s["growth"], "×", "≈ 1 (flat)", None,
                    note="how a filing's cost grows with the storm's open incidents on its contract"))
    rows.append(Row(name, "errors, lost or doubled", len(result.errors), "", "0", not result.errors))
    rows.append(ratio_row(f"B4 {backend}", "web worker RSS after B1", result.worker_rss_mb,
                          result.floor_worker_rss_mb, "MB", "≤ 150 MB", result.worker_rss_mb <= 150))
    extra += [f"{name}: {e}" for e in result.errors[:20]]
    return runs


def bench_clock_and_reports(p: Plan, backend: str, pg: str, rows: list[Row], extra: list[str],
                            plans: list[str], with_reports: bool) -> None:
    from sqlalchemy import create_engine

    from bench import clock, reports
    from bench.common import desk_app
    from bench.dataset import Loader, bulk_people
    from bench.seed import load_bench_contracts

    with scratch_database(backend, "clock", pg) as url:
        app = desk_app(url)
        with app.app_context():
            from desk.extensions import db

            loaded = load_bench_contracts(p.contracts)
            contracts = [(c.id, c.units[0].id) for c in loaded]
            db.session.remove()
            db.engine.dispose()
        engine = create_engine(url)
        bulk_people(engine, [c for c, _ in contracts])
        loader = Loader(engine, contracts)
        figures = {}
        for label, scale in ((p.small_label, p.small), (p.grown_label, p.grown)):
            began = time.perf_counter()
            loader.add(scale)
            log(f"B2 loaded {label} incidents on {backend} in {time.perf_counter() - began:.1f} s")
            answer = run_child("bench.clock", {"url": url, "due_ids": loader.due_event_ids, "runs": p.runs},
                               timeout=300)
            extra += [f"B2 {backend} at {label}: {problem}" for problem in answer["problems"][:5]]
            figures[label] = clock.summary(answer)
            log(f"  tick at {label}: {figures[label]['due_ms']:.1f} ms with {len(loader.due_event_ids)} due, "
                f"{figures[label]['idle_ms']:.2f} ms with none")
        small, grown = figures[p.small_label], figures[p.grown_label]
        name = f"B2 {backend}"
        due = len(loader.due_event_ids)
        rows.append(Row(name, f"tick, {due} due, at {p.small_label}", small["due_ms"], "ms", "≤ 50 ms",
                        small["due_ms"] <= 50))
        rows.append(ratio_row(name, f"tick, {due} due, at {p.grown_label}", grown["due_ms"], small["due_ms"], "ms",
                              "ratio ≤ 1.5", grown["due_ms"] / small["due_ms"] <= 1.5))
        rows.append(Row(name, f"tick, none due, at {p.small_label}", small["idle_ms"], "ms", "≤ 5 ms",
                        small["idle_ms"] <= 5))
        rows.append(ratio_row(name, f"tick, none due, at {p.grown_label}", grown["idle_ms"], small["idle_ms"], "ms",
                              "ratio ≤ 1.5", grown["idle_ms"] / small["idle_ms"] <= 1.5))
        rows.append(Row(f"B4 {backend}", "tick process peak RSS", grown["rss_mb"], "MB", "≤ 150 MB",
                        grown["rss_mb"] <= 150))
        plans.append(f"B2 {backend}: the tick's query at {p.grown_label} incidents\n  {clock.QUERY}\n"
                     + "\n".join("  " + line for line in clock.explain(engine, loader.due_event_ids).splitlines()))
        if with_reports:
            bench_reports(p, backend, url, rows, extra)
        engine.dispose()


def bench_reports(p: Plan, backend: str, url: str, rows: list[Row], extra: list[str]) -> None:
    from bench.reports import month_request

    name = f"B3 {backend}"
    log(f"B3 reports on {backend}: the month of {p.grown.report_incidents} incidents, {p.runs} runs per format")
    answers = {fmt: run_child("bench.reports", month_request(url, fmt, p.runs), timeout=300)
               for fmt in ("json", "xlsx", "pdf")}
    json_answer = answers["json"]
    if json_answer["incidents"] < p.grown.report_incidents:
        extra.append(f"{name}: the report has {json_answer['incidents']} incidents, "
                     f"expected at least {p.grown.report_incidents}")
    rows.append(ratio_row(name, f"JSON, {json_answer['incidents']:,} incidents", median(json_answer["ms"]),
                          median(json_answer["floor_ms"]), "ms", "≤ 300 ms", median(json_answer["ms"]) <= 300,
                          note=f"floor: reading the contract's {json_answer['rows']:,} incident rows, bare cursor"))
    for fmt, limit in (("xlsx", 2000), ("pdf", 5000)):
        value = median(answers[fmt]["ms"])
        rows.append(Row(name, f"{fmt.upper()} ({answers[fmt]['bytes'] / 1e6:.1f} MB)", value, "ms",
                        f"≤ {limit:,} ms", value <= limit))
    rows.append(Row(f"B4 {backend}", "PDF process peak RSS", answers["pdf"]["rss_mb"], "MB", "≤ 300 MB",
                    answers["pdf"]["rss_mb"] <= 300))


def bench_engine(p: Plan, rows: list[Row]) -> None:
    log(f"B3 the engine alone over {p.engine_incidents:,} incidents, {p.runs} runs")
    answer = run_child("bench.reports", {"format": "engine", "incidents": p.engine_incidents, "runs": p.runs},
                       timeout=300)
    value = median(answer["ms"])
    rows.append(ratio_row("B3 engine", f"build_report, {p.engine_incidents:,} incidents", value,
                          median(answer["floor_ms"]), "ms", "≤ 250 ms", value <= 250,
                          note=f"floor: sorting the {p.engine_incidents:,} intervals; "
                               f"{answer['rows']:,} in the report month"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes on SQLite only (about 20 s)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--reports", type=int, help="B1's reports per run (default 5,000, the issue's size)")
    parser.add_argument("--runs", type=int, help="runs of each workload (default 5)")
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS,
                        help=f"seconds the whole run may take (default {BUDGET_SECONDS:.0f}; 0: no limit): "
                             "B1 does fewer runs, never smaller storms, when it would not fit")
    parser.add_argument("--only", default="B1,B2,B3", help="comma-separated workloads: B1, B2, B3")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL without a database; scratch databases are named bench_*")
    args = parser.parse_args(argv)
    only = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    unknown = only - {"B1", "B2", "B3"}
    if unknown:
        parser.error(f"--only: unknown workloads {', '.join(sorted(unknown))} (B1, B2, B3)")
    # Stopped from outside (a timeout, Ctrl-C): unwind, so gunicorn and the scratch databases go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = plan(args.quick, args.sqlite_only)
    for name in ("reports", "runs"):
        value = getattr(args, name)
        if value is not None:
            if value < 1:
                parser.error(f"--{name}: at least 1")
            p = replace(p, **{name: value})
    if args.budget < 0:
        parser.error("--budget: seconds, 0 for no limit")
    began, start = time.perf_counter(), time.monotonic()
    rows: list[Row] = []
    extra: list[str] = []  # what went wrong: errors, lost or doubled reports, wrong tick outcomes
    plans: list[str] = []
    fewer: list[str] = []  # B1 backends the budget allowed fewer runs
    b1_rows: list[Row] = []  # printed first, measured last
    try:
        if only & {"B2", "B3"}:
            # Years of incidents are loaded into one database: PostgreSQL, the production one (SQLite in --quick).
            bench_clock_and_reports(p, p.backends[0], args.pg, rows, extra, plans, with_reports="B3" in only)
        if "B3" in only:
            bench_engine(p, rows)
        if "B1" in only:
            # B1 alone adapts to the budget, so it goes last and gets what B2 and B3 left of it.
            end = start + args.budget
            for i, backend in enumerate(p.backends):
                share = (end - time.monotonic()) / (len(p.backends) - i)
                runs = bench_intake(p, backend, args.pg, b1_rows, extra,
                                    until=time.monotonic() + share if args.budget else None)
                fewer += [f"B1 {backend} {runs}"] if runs < p.runs else []
        rows[:0] = b1_rows
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_table(rows))
    for block in plans:
        print("\n" + block)
    if extra:
        print("\nproblems:\n" + "\n".join("  " + e for e in extra))
    print(f"\n{len(rows)} figures in {time.perf_counter() - began:.0f} s; medians of {p.runs} run(s)"
          + (f", except where the {args.budget:.0f} s budget allowed fewer: {', '.join(fewer)}" if fewer else "") + ".")
    # Timings are guides on a shared machine; a wrong result (an error, a report lost or doubled) fails.
    return 3 if extra else 0


if __name__ == "__main__":
    sys.exit(main())
