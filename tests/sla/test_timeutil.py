"""Money rounding (spec §1): one half-up rounding of an exact quotient."""
from decimal import Decimal
from fractions import Fraction
from math import floor

from hypothesis import given
from hypothesis import strategies as st

from desk.sla.timeutil import money_share


def test_money_share_rounds_half_cents_up():
    assert money_share(Decimal("16350.00"), 726, 7200) == Decimal("1648.63")  # 1,648.625
    assert money_share(Decimal("16350.00"), 7 * 72, 60 * 28 * 24) == Decimal("204.38")  # 204.375
    assert str(money_share(Decimal("16350.00"), 0, 1800)) == "0.00"


@given(st.integers(1, 10**9), st.integers(0, 10**15), st.integers(1, 10**15))
def test_money_share_is_the_exact_quotient_rounded_once(fee_cents, part, whole):
    fee = Decimal(fee_cents).scaleb(-2)
    exact = Fraction(fee_cents, 100) * part / whole
    assert money_share(fee, part, whole) == Decimal(floor(exact * 100 + Fraction(1, 2))).scaleb(-2)


@given(st.integers(0, 10**9), st.integers(1, 10**15))
def test_an_exact_half_cent_always_rounds_up(k, whole):
    fee = Decimal(2 * k + 1) / 200  # k cents and a half
    assert money_share(fee, whole, whole) == Decimal(k + 1).scaleb(-2)
