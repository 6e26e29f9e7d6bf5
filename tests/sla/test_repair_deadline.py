"""R1 (四.(三)): 4 hours from the report, inclusive; open past the deadline is missed."""
from datetime import timedelta

from desk.sla.incidents import MaintenanceWindow
from desk.sla.repair_deadline import repair_deadline_at, repair_deadline_met
from desk.sla.terms import terms_from_mapping
from tests.sla.conftest import XJGAT, incident, local

AS_OF = local("2025-07-01T00:00")


def test_exactly_four_hours_is_met_one_second_more_is_missed(xjgat):
    assert repair_deadline_met(xjgat, incident("2025-06-03T10:00", "2025-06-03T14:00"), AS_OF) is True
    late = incident("2025-06-03T10:00", "2025-06-03T14:00:01")
    assert repair_deadline_met(xjgat, late, AS_OF) is False


def test_open_incident_undecided_until_the_deadline_passes(xjgat):
    open_one = incident("2025-06-03T10:00")
    assert repair_deadline_met(xjgat, open_one, local("2025-06-03T14:00")) is None
    assert repair_deadline_met(xjgat, open_one, local("2025-06-03T14:00:01")) is False


def test_restoration_after_as_of_counts_as_open(xjgat):
    later = incident("2025-06-03T10:00", "2025-06-03T13:00")
    assert repair_deadline_met(xjgat, later, local("2025-06-03T12:00")) is None


def test_exempt_causes_and_contracts_without_r1(xjgat, qmga):
    assert repair_deadline_at(xjgat, incident("2025-06-03T10:00", cause="force_majeure")) is None
    assert repair_deadline_at(qmga, incident("2025-06-03T10:00")) is None
    deadline = repair_deadline_at(xjgat, incident("2025-06-03T10:00", kind="degradation"))
    assert deadline == local("2025-06-03T14:00")


def test_other_numbers_two_hour_deadline():
    terms = terms_from_mapping({**XJGAT, "clauses": {"repair_deadline": {"hours": 2}}})
    assert repair_deadline_at(terms, incident("2025-06-03T10:00")) == local("2025-06-03T12:00")


def test_planned_maintenance_needs_72_hours_notice(xjgat):
    start, end = local("2025-06-10T00:00"), local("2025-06-10T06:00")
    enough = MaintenanceWindow(start - timedelta(hours=72), start, end)
    short = MaintenanceWindow(start - timedelta(hours=72) + timedelta(seconds=1), start, end)
    ok = incident("2025-06-10T01:00", "2025-06-10T02:00", cause="planned_maintenance", maintenance=enough)
    bad = incident("2025-06-10T01:00", "2025-06-10T02:00", cause="planned_maintenance", maintenance=short)
    outside = incident("2025-06-10T05:00", "2025-06-10T07:00", cause="planned_maintenance", maintenance=enough)
    assert repair_deadline_at(xjgat, ok) is None
    assert repair_deadline_at(xjgat, bad) is not None
    assert repair_deadline_at(xjgat, outside) is not None
