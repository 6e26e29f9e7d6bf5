"""Importing the paper log: atomic, every bad line named, re-import updates by external_id."""
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desk.audit.services import Actor
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.incidents.imports import import_incidents, import_payments
from desk.models import AuditEntry, Incident, MaintenanceNotice, Payment, Ticket

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
HEADER = ("external_id,reported_at,started_at,restored_at,kind,cause,cause_confirmed,affected_cards,summary,"
          "notice_at,window_start,window_end\n")
ACTOR = Actor.system("test")


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_reimport_updates_never_duplicates(contracts):
    data = (FIXTURES / "qmga-2025-06.csv").read_bytes()
    first = import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert (first.created, first.updated, first.unchanged) == (5, 0, 0)
    again = import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    changed = data.replace(b"2025-06-03T13:30", b"2025-06-03T14:30")
    third = import_incidents("QMGA-JWT-2025", changed, ACTOR)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 4)
    assert count(Incident) == 5 and count(Ticket) == 5
    incident = db.session.execute(select(Incident).where(Incident.external_id == "QM-0603")).scalar_one()
    assert incident.restored_at.isoformat() == "2025-06-03T06:30:00+00:00"  # 14:30 in Asia/Shanghai


@pytest.mark.parametrize(
    "row, reason",
    [
        ("X1,not-a-time,,,interruption,carrier,true,60,,,,", "reported_at"),
        ("X1,2025-06-03T10:00,,,outage,carrier,true,60,,,,", "kind"),
        ("X1,2025-06-03T10:00,,,interruption,aliens,true,60,,,,", "cause"),
        ("X1,2025-06-03T10:00,2025-06-03T10:00,2025-06-03T09:00,interruption,carrier,true,60,,,,",
         "restored_at is before started_at"),
        ("X1,2025-06-03T10:00,2025-06-03T11:00,,interruption,carrier,true,60,,,,", "started_at is after"),
        ("X1,2025-06-03T10:00,,,interruption,carrier,true,61,,,,", "affected_cards"),
        ("X1,2025-06-03T10:00,,,interruption,carrier,true,0,,,,", "affected_cards"),
        ("X1,2025-06-03T10:00,,,interruption,carrier,maybe,60,,,,", "cause_confirmed"),
        ("X1,2025-06-03T10:00,,,interruption,planned_maintenance,true,60,,2025-06-01T00:00,,", "go together"),
        (",2025-06-03T10:00,,,interruption,carrier,true,60,,,,", "external_id is required"),
        ("X1,2099-06-03T10:00,,,interruption,carrier,true,60,,,,", "future"),
        ("X1,2025-06-03T10:00,2024-12-31T10:00,,interruption,carrier,true,60,,,,",
         "started_at: before the contract's service began (2025-06-01)"),
        # The fault form takes 4,000 characters of description: an import took any length.
        ("X1,2025-06-03T10:00,,,interruption,carrier,true,60," + "断" * 4001 + ",,,", "summary: at most 4000 characters"),
    ],
)
def test_bad_row_rejects_whole_file(contracts, row, reason):
    good = "G1,2025-06-02T10:00,,2025-06-02T11:00,interruption,carrier,true,60,ok,,,\n"
    data = (HEADER + good + row + "\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert any(e.startswith("line 3:") and reason in e for e in exc.value.errors), exc.value.errors
    assert count(Incident) == 0 and count(Ticket) == 0


def test_every_bad_line_is_reported(contracts):
    data = (HEADER + "A,bad,,,interruption,carrier,true,60,,,,\n"
            "B,2025-06-02T10:00,,,interruption,carrier,true,60,,,,\n"
            "C,2025-06-02T10:00,,,weird,carrier,true,60,,,,\n"
            "B,2025-06-02T10:00,,,interruption,carrier,true,60,,,,\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        import_incidents("QMGA-JWT-2025", data, ACTOR)
    lines = sorted({e.split(":")[0] for e in exc.value.errors})
    assert lines == ["line 2", "line 4", "line 5"]
    assert any("already on line 3" in e for e in exc.value.errors)


def test_a_short_row_is_refused_not_read_as_blanks(contracts):
    # Read as blanks it was an open interruption of all 60 cards: a month of waivers.
    data = (HEADER + "B6,2025-06-03T10:00,,,interruption\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert exc.value.errors == ["line 2: 5 fields where the header has 12"]
    assert count(Incident) == 0


def test_a_record_is_named_by_the_line_it_starts_on(contracts):
    data = (HEADER + 'G1,2025-06-02T10:00,,,interruption,carrier,true,60,"two\nlines",,,\n'
            'X1,2025-06-02T10:00,,,weird,carrier,true,60,"three\nmore\nlines",,,\n').encode()
    with pytest.raises(ValidationFailed) as exc:
        import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert [e.split(":")[0] for e in exc.value.errors] == ["line 4"]


def test_a_gbk_file_is_named_with_its_line_and_the_way_out(contracts):
    data = (HEADER + "G1,2025-06-02T10:00,,,interruption,carrier,true,60,基站中断,,,\n").encode("gbk")
    with pytest.raises(ValidationFailed) as exc:
        import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert "line 2: the file is not UTF-8 text" in exc.value.message and "CSV UTF-8" in exc.value.message


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"external_id,when\n", "unknown column"),
        (b"external_id,kind\n", "missing column"),
        ("external_id,reported_at,kind\nA,2025-06-02T10:00,interruption\n".encode("utf-16"), "UTF-8"),
        (HEADER.encode(), "no rows"),
    ],
)
def test_bad_files(contracts, data, reason):
    with pytest.raises(ValidationFailed) as exc:
        import_incidents("QMGA-JWT-2025", data, ACTOR)
    assert any(reason in e for e in exc.value.errors), exc.value.errors


def test_unknown_contract_is_refused(app):
    with pytest.raises(NotFound):
        import_incidents("NOPE", (FIXTURES / "qmga-2025-06.csv").read_bytes(), ACTOR)


def test_times_with_offset_and_maintenance_notice(contracts):
    data = (HEADER + "M1,2025-06-02T02:00:00Z,2025-06-02T01:00:00Z,2025-06-02T03:00:00Z,interruption,"
            "planned_maintenance,true,,升级,2025-05-28T10:00,2025-06-02T08:00,2025-06-02T12:00\n").encode()
    import_incidents("XJGAT-POOL-2025", data, ACTOR)
    incident = db.session.execute(select(Incident)).scalar_one()
    assert incident.reported_at.isoformat() == "2025-06-02T02:00:00+00:00"
    assert incident.affected_cards == 3360  # default: all cards
    notice = db.session.execute(select(MaintenanceNotice)).scalar_one()
    assert notice.window_start.isoformat() == "2025-06-02T00:00:00+00:00"
    assert incident.maintenance_notice_id == notice.id


def test_cli_reports_errors_and_exit_code(runner, contracts, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "A,bad,,,interruption,carrier,true,60,,,,\n", encoding="utf-8")
    result = runner.invoke(args=["import-incidents", "QMGA-JWT-2025", str(bad)])
    assert result.exit_code == 1
    assert "line 2: reported_at" in result.output
    assert "nothing was written" in result.output


def test_payments_import_and_reimport(contracts, runner):
    data = (FIXTURES / "xjgat-payments.csv").read_bytes()
    assert import_payments("XJGAT-POOL-2025", data, ACTOR).created == 2
    assert import_payments("XJGAT-POOL-2025", data, ACTOR).unchanged == 2
    assert count(Payment) == 2
    bad = (b"paid_at,amount,note\n2025-04-15T10:00,-5,x\n2025-04-16T10:00,1.234,y\n2025-04-17,abc,z\n"
           b"2019-04-15T10:00,100,a mistyped year\n")
    with pytest.raises(ValidationFailed) as exc:
        import_payments("XJGAT-POOL-2025", bad, ACTOR)
    assert [e.split(":")[0] for e in exc.value.errors] == ["line 2", "line 3", "line 4", "line 5"]
    assert "more than a year before the contract's service began (2025-04-01)" in exc.value.errors[-1]
    assert count(Payment) == 2


def test_payment_amounts_take_commas_only_as_thousands_separators(contracts, runner, tmp_path):
    # The commas were dropped: 1,0,0 was imported as 100.00 and 100,50 as 10050.00.
    bad = tmp_path / "payments.csv"
    bad.write_text('paid_at,amount\n2025-04-15T10:00,"1,0,0"\n2025-04-16T10:00,"100,50"\n'
                   '2025-04-17T10:00,"1,234,567.89"\n', encoding="utf-8")
    result = runner.invoke(args=["import-payments", "XJGAT-POOL-2025", str(bad)])
    assert result.exit_code == 1 and "nothing was written" in result.output
    assert "line 2: amount: '1,0,0' has commas that are not thousands separators" in result.output
    assert "line 3: amount: '100,50' has commas that are not thousands separators" in result.output
    assert "line 4" not in result.output
    assert count(Payment) == 0
    good = b'paid_at,amount\n2025-04-17T10:00,"1,234,567.89"\n2025-04-18T10:00,16350.00\n'
    assert import_payments("XJGAT-POOL-2025", good, ACTOR).created == 2
    assert sorted(db.session.execute(select(Payment.amount)).scalars()) == [Decimal("16350.00"),
                                                                            Decimal("1234567.89")]


def test_a_payment_note_longer_than_the_forms_is_refused(contracts):
    """The payment form takes a note of 500 characters; the import took any length, and the PDF
    ready to sign then carried pages of it."""
    data = ("paid_at,amount,note\n2025-04-15T10:00,100.00," + "注" * 501 + "\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        import_payments("XJGAT-POOL-2025", data, ACTOR)
    assert exc.value.errors == ["line 2: note: at most 500 characters"]
    assert count(Payment) == 0


def test_every_import_is_audited(contracts):
    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), ACTOR)
    actions = db.session.execute(select(AuditEntry.action).where(AuditEntry.entity == "incident")).scalars().all()
    assert actions.count("incident.imported") == 5
