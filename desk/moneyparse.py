"""Reading amounts in yuan that people and files write (the payment form, import-payments)."""
from __future__ import annotations

import re
from decimal import Decimal

# Digits with an optional sign and decimal part; commas only as thousands separators (1,234,567.89).
# Anything else with a comma (1,0,0 or the decimal comma of 100,50) was once read with its commas dropped.
AMOUNT = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
NOT_AN_AMOUNT = "is not an amount in yuan (e.g. 16350.00 or 16,350.00)"
BAD_COMMAS = "has commas that are not thousands separators (write 1,234,567.89 or 1234567.89)"


def parse_amount(text: str | None) -> Decimal:
    """An amount as written, e.g. 16,350.00; ValueError with the reason where it is not one. Whether the
    amount is positive, small enough and in fen is for the caller to say."""
    value = (text or "").strip()
    if not AMOUNT.fullmatch(value):
        raise ValueError(BAD_COMMAS if "," in value and AMOUNT.fullmatch(value.replace(",", "")) else NOT_AN_AMOUNT)
    return Decimal(value.replace(",", ""))
