"""desk.sla.series: the charts' outage hours are the report's (6.3, within the service period)."""
from decimal import Decimal

from desk.sla.report import build_report
from desk.sla.series import outage_series
from tests.sla.conftest import incident, local

AS_OF = local("2025-07-01T00:00")


def test_outage_series_leaves_out_the_hours_before_the_service_period(qmga):
    early = [incident("2025-06-01T00:30", "2025-06-01T02:00", started="2025-05-31T22:00")]
    daily, curve = outage_series(qmga, early, 2025, 5, AS_OF)
    assert all(h == Decimal("0.00") for _, h in daily) and curve[-1][1] == Decimal("0.00")
    daily, curve = outage_series(qmga, early, 2025, 6, AS_OF)
    assert daily[0][1] == Decimal("2.00")
    assert str(curve[-1][1]) == build_report(qmga, early, [], 2025, 6, AS_OF)["totals"]["outage_hours"]
