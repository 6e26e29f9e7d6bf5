"""Amounts as people and files write them: commas only as thousands separators."""
from decimal import Decimal

import pytest

from desk.moneyparse import NOT_AN_AMOUNT, parse_amount


@pytest.mark.parametrize("text, amount", [
    ("16350.00", "16350.00"), ("16,350.00", "16350.00"), ("1,234,567.89", "1234567.89"), (" 100 ", "100"),
    ("999,999,999,999.99", "999999999999.99"), ("-5", "-5"), ("0.001", "0.001"), ("9" * 25, "9" * 25),
])
def test_amounts_read(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["1,0,0", "100,50", "1,00", ",100", "100,", "1,,000", "1,000,00.00", "12,34.5",
                                  "1000,000", "1,000.00,"])
def test_commas_that_are_not_thousands_separators_are_refused(text):
    # Dropping them read 1,0,0 as 100 and the decimal comma of 100,50 as 10050.
    with pytest.raises(ValueError, match="not thousands separators"):
        parse_amount(text)


@pytest.mark.parametrize("text", ["", None, "abc", "1e30", "NaN", "Infinity", "1_000", "1.2.3", ".5", "5.", "¥100",
                                  "1 000"])
def test_what_is_not_an_amount_is_refused(text):
    # Decimal() alone took exponents, NaN, Infinity and underscores between digits (1_000).
    with pytest.raises(ValueError) as exc:
        parse_amount(text)
    assert str(exc.value) == NOT_AN_AMOUNT
