"""Properties of the engine over generated incident histories (hypothesis)."""
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.sla.incidents import IncidentFacts
from desk.sla.report import build_report
from desk.sla.timeutil import month_bounds
from tests.sla.conftest import QMGA, XJGAT, local
from desk.sla.terms import terms_from_mapping

QM, XJ = terms_from_mapping(QMGA), terms_from_mapping(XJGAT)
BASE = local("2025-06-01T00:00")
causes = st.sampled_from(["carrier", "customer", "third_party", "force_majeure", "undetermined"])


@st.composite
def histories(draw):
    n = draw(st.integers(0, 25))
    result = []
    for i in range(n):
        start = BASE + timedelta(minutes=draw(st.integers(-2000, 45000)))
        length = timedelta(minutes=draw(st.integers(0, 6000)))
        restored = start + length if draw(st.booleans()) else None
        result.append(IncidentFacts(
            id=i + 1, external_id=None, reported_at=start, started_at=start, restored_at=restored,
            kind=draw(st.sampled_from(["interruption", "degradation"])), cause=draw(causes),
            cause_confirmed=draw(st.booleans()), affected_cards=draw(st.integers(1, 60)),
        ))
    return result


as_ofs = st.integers(0, 60000).map(lambda m: BASE + timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(histories(), as_ofs)
def test_waivers_bounded_and_no_day_twice(incidents, as_of):
    report = build_report(QM, incidents, [], 2025, 6, as_of)
    lo, hi = month_bounds(2025, 6, QM.tz)
    assert Decimal(report["totals"]["outage_hours"]) <= Decimal((hi - lo).total_seconds()) / 3600
    days = [d["date"] for d in report["totals"]["day_waivers"]]
    assert len(days) == len(set(days)) and all(d.startswith("2025-06") for d in days)
    assert Decimal(report["totals"]["waiver_total"]) <= QM.monthly_fee


@settings(max_examples=150, deadline=None)
@given(histories(), as_ofs, as_ofs)
def test_strikes_never_decrease_as_as_of_grows(incidents, a, b):
    early, late = min(a, b), max(a, b)
    s1 = build_report(XJ, incidents, [], 2025, 6, early)["totals"]["strikes_to_date"]
    s2 = build_report(XJ, incidents, [], 2025, 6, late)["totals"]["strikes_to_date"]
    assert s1 <= s2


@settings(max_examples=150, deadline=None)
@given(histories(), histories(), as_ofs)
def test_past_report_unchanged_by_later_incidents(incidents, extra, as_of):
    later = [replace(i, id=1000 + i.id, reported_at=as_of + timedelta(seconds=1 + n),
                     started_at=as_of + timedelta(seconds=1 + n), restored_at=None) for n, i in enumerate(extra)]
    for terms in (QM, XJ):
        assert build_report(terms, incidents, [], 2025, 6, as_of) == build_report(terms, incidents + later, [], 2025, 6, as_of)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-3000, 50000), st.integers(0, 4000), st.integers(1, 60)), max_size=30),
       st.sets(st.integers(0, 29), min_size=1))
def test_most_cards_per_day_is_the_largest_overlapping_outage(spans, day_numbers):
    """The one-pass day maximum agrees with its definition, zero-length outages and midnights included."""
    from desk.sla.timeutil import local_midnight
    from desk.sla.waivers import Outage, _most_cards_per_day

    tz = QM.tz
    outages = [Outage(BASE + timedelta(minutes=s), BASE + timedelta(minutes=s + n), c) for s, n, c in spans]
    days = {BASE.astimezone(tz).date() + timedelta(days=d) for d in day_numbers}
    expected = {}
    for day in days:
        d0, d1 = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        overlapping = [o.cards for o in outages if o.start < d1 and o.end > d0]
        if overlapping:
            expected[day] = max(overlapping)
    assert _most_cards_per_day(outages, days, tz) == expected
