"""The report of spec §5: shape, as_of semantics, provisional and final."""
from desk.sla.report import build_report
from tests.sla.conftest import incident, local


def test_shape(xjgat):
    report = build_report(xjgat, [incident("2025-06-10T09:00", "2025-06-10T10:00")], [], 2025, 6, local("2025-07-02T00:00"))
    assert list(report) == ["contract", "month", "timezone", "as_of", "final", "provisional", "incidents", "totals"]
    assert set(report["incidents"][0]) == {"id", "external_id", "reported_at", "started_at", "restored_at", "kind",
                                           "cause", "cause_confirmed", "affected_cards", "repair_deadline_met",
                                           "repair_hours", "strike_number", "penalty"}
    assert report["incidents"][0]["reported_at"] == "2025-06-10T01:00:00+00:00"
    assert report["provisional"] is False and report["final"] is False
    assert build_report(xjgat, [], [], 2025, 6, local("2025-07-02T00:00"), frozen=True)["final"] is True


def test_as_of_hides_later_reports_and_restorations(xjgat):
    incidents = [incident("2025-06-10T09:00", "2025-06-10T12:00", id=1), incident("2025-06-20T09:00", id=2)]
    report = build_report(xjgat, incidents, [], 2025, 6, local("2025-06-10T11:00"))
    assert [i["id"] for i in report["incidents"]] == [1]
    assert report["incidents"][0]["restored_at"] is None and report["incidents"][0]["repair_hours"] is None
    assert report["provisional"] is True


def test_unconfirmed_cause_keeps_a_past_month_provisional(xjgat):
    report = build_report(xjgat, [incident("2025-06-10T09:00", "2025-06-10T10:00", confirmed=False)], [], 2025, 6,
                          local("2025-08-01T00:00"))
    assert report["provisional"] is True


def test_what_keeps_a_past_month_provisional(xjgat):
    """A cause not yet agreed keeps the month provisional when the incident weighs on it: a strike to
    date (they count in the month's totals), or an interruption running into the month; otherwise it does not."""
    def june(*incidents):
        return build_report(xjgat, list(incidents), [], 2025, 6, local("2025-08-01T00:00"))["provisional"]

    assert june(incident("2025-05-10T09:00", "2025-05-10T10:00", confirmed=False)) is True  # strike 1
    assert june(incident("2025-05-31T22:00", "2025-06-01T02:00", cause="customer", confirmed=False)) is True
    assert june(incident("2025-05-10T09:00", "2025-05-10T10:00", cause="customer", confirmed=False)) is False
    # A later strike still counts to date (strikes_to_date, the termination right); a later exempt one not.
    assert june(incident("2025-07-10T09:00", "2025-07-10T10:00", confirmed=False)) is True
    assert june(incident("2025-07-10T09:00", "2025-07-10T10:00", cause="customer", confirmed=False)) is False
    assert june(incident("2025-05-10T09:00", "2025-05-10T10:00", cause="undetermined")) is True


def test_incidents_outside_the_service_period_do_not_count(xjgat):
    report = build_report(xjgat, [incident("2025-03-31T23:00", "2025-04-01T01:00")], [], 2025, 3, local("2025-05-01T00:00"))
    assert report["incidents"] == [] and report["totals"]["strikes_to_date"] == 0


def test_naive_as_of_is_refused(xjgat):
    import datetime

    import pytest

    with pytest.raises(ValueError):
        build_report(xjgat, [], [], 2025, 6, datetime.datetime(2025, 7, 1))
