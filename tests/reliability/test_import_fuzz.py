"""Hypothesis-generated CSV files through `import-incidents` and `import-payments` (spec §6): each file
is either imported whole or refused with `error:` lines and exit code 1, never a traceback, and the
row counts before and after prove that a refused file wrote nothing."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.incidents.imports import INCIDENT_COLUMNS, PAYMENT_COLUMNS
from tests.reliability.conftest import count_rows

EXAMPLES = 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Cells a paper log really holds, next to what breaks parsers and databases.
NASTY_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ufeff", "😀🚓", "'; DROP TABLE incident; --", "<script>alert(1)</script>",
    "=1+1", "\r\n", '"', "x" * 10_000, "\u202e", "\ud7ff", "ﾟ", "NULL", "None", "nan",
])
TIMES = st.one_of(
    st.datetimes(min_value=datetime(2025, 4, 1), max_value=datetime(2025, 12, 31))
    .map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
    st.sampled_from(["2025-06-03T10:00", "2025-06-03T02:00:00Z", "2025-06-03T10:00+08:00", "0001-01-01T00:00",
                     "0001-01-01T00:00+14:00", "9999-12-31T23:59", "9999-12-31T23:59-12:00", "2025-02-30T10:00",
                     "2025-06-03", "03/06/2025 10:00", "2099-01-01T00:00", "T", "2025-06-03T25:00"]),
    NASTY_TEXT,
)
NUMBERS = st.one_of(st.integers(-10, 100).map(str), st.sampled_from(
    ["60", "1", "0", "-1", "1.5", "9" * 30, "1e3", "NaN", "Infinity", "0x10", "６０", "1_000", "١٢"]), NASTY_TEXT)
AMOUNTS = st.one_of(
    st.decimals(min_value=-1000, max_value=10**9, places=2, allow_nan=False).map(str),
    st.sampled_from(["191820.00", "1,000.00", "0.001", "-5", "0", "1e30", "1E+2", "9" * 25, "NaN", "Infinity",
                     "sNaN", "12.345", "１２", "1 000"]),
    NASTY_TEXT,
)
INCIDENT_CELLS = {
    "external_id": st.one_of(st.sampled_from(["QM-1", "QM-2", "QM-3"]), st.text(max_size=130), NASTY_TEXT),
    "reported_at": TIMES, "started_at": TIMES, "restored_at": TIMES, "notice_at": TIMES,
    "window_start": TIMES, "window_end": TIMES,
    "kind": st.one_of(st.sampled_from(["interruption", "degradation", "INTERRUPTION"]), NASTY_TEXT),
    "cause": st.one_of(st.sampled_from(["carrier", "customer", "force_majeure", "undetermined", "?"]), NASTY_TEXT),
    "cause_confirmed": st.one_of(st.sampled_from(["true", "false", "是", "否", "maybe"]), NASTY_TEXT),
    "affected_cards": NUMBERS,
    "summary": st.one_of(st.text(max_size=300), NASTY_TEXT),
}
PAYMENT_CELLS = {"paid_at": TIMES, "amount": AMOUNTS, "note": st.one_of(st.text(max_size=200), NASTY_TEXT)}


@st.composite
def csv_files(draw, columns: tuple[str, ...], cells: dict) -> bytes:
    """A CSV of the right shape with chosen cells, or one whose header, encoding or shape is off."""
    header = list(columns)
    if draw(st.booleans()):  # only some of the columns, shuffled, maybe one unknown or doubled
        header = draw(st.permutations(columns))[: draw(st.integers(1, len(columns)))]
        header += draw(st.sampled_from([[], [], ["bogus"], [header[0]]]))
    rows = draw(st.lists(st.fixed_dictionaries({c: cells.get(c, NASTY_TEXT) for c in header}), max_size=6))
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        values = [row[c] for c in header]
        if draw(st.integers(0, 9)) == 0:
            values += ["extra"]  # more fields than columns
        writer.writerow(values)
    text = out.getvalue()
    data = text.encode("utf-8", "surrogatepass")
    damage = draw(st.integers(0, 7))
    if damage == 1:
        data = b"\xef\xbb\xbf" + data  # a BOM, as spreadsheets write
    elif damage == 2:
        data = text.encode("gb18030", "replace")  # a Chinese Windows export
    elif damage == 3:
        data = draw(st.binary(max_size=200))
    elif damage == 4:
        data = data[: draw(st.integers(0, len(data)))]  # cut short
    return data


def _imports_whole_or_not_at_all(app, tmp_path, command: str, code: str, data: bytes) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(data)
    before = count_rows()
    result = app.test_cli_runner().invoke(args=[command, code, str(path)])
    after = count_rows()
    # A crash shows as an exception other than the clean exit; its traceback fails the test here.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if result.exit_code == 0:
        assert after["audit_entry"] > before["audit_entry"] or "0 created, 0 updated" in result.output \
            or "0 payments recorded, 0 updated" in result.output, result.output
    else:
        assert result.exit_code == 1 and "error:" in result.output, result.output
        assert after == before, f"a refused file wrote rows: {before} → {after}"


@pytest.mark.parametrize("command, code, data, reason", [
    # What the fuzzing found: each once a traceback, now a refusal naming the line.
    ("import-incidents", "QMGA-JWT-2025", "external_id,reported_at,kind\nQM-1,0001-01-01T00:00,interruption\n",
     "outside the years"),
    ("import-payments", "XJGAT-POOL-2025", "paid_at,amount\n2025-06-03T10:00,9999999999999999999999999\n",
     "is more than 999,999,999,999.99"),
    ("import-payments", "XJGAT-POOL-2025", "paid_at,amount,note\n2025-06-03T10:00,12,a\x00b\n", "NUL character"),
])
def test_what_the_fuzzing_found_is_refused(app, contracts, tmp_path, command, code, data, reason):
    path = tmp_path / "found.csv"
    path.write_bytes(data.encode())
    before = count_rows()
    result = app.test_cli_runner().invoke(args=[command, code, str(path)])
    assert result.exit_code == 1 and reason in result.output and "line 2" in result.output, result.output
    assert count_rows() == before


def test_fuzzed_incident_files_import_whole_or_not_at_all(app, contracts, tmp_path):
    @given(data=csv_files(INCIDENT_COLUMNS, INCIDENT_CELLS))
    @FUZZ
    def check(data):
        _imports_whole_or_not_at_all(app, tmp_path, "import-incidents", "QMGA-JWT-2025", data)

    check()
    verified = app.test_cli_runner().invoke(args=["audit-verify"])
    assert verified.exit_code == 0, verified.output


def test_fuzzed_payment_files_import_whole_or_not_at_all(app, contracts, tmp_path):
    @given(data=csv_files(PAYMENT_COLUMNS, PAYMENT_CELLS))
    @FUZZ
    def check(data):
        _imports_whole_or_not_at_all(app, tmp_path, "import-payments", "XJGAT-POOL-2025", data)

    check()
    verified = app.test_cli_runner().invoke(args=["audit-verify"])
    assert verified.exit_code == 0, verified.output
