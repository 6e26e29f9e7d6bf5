"""Intervals of outage: union, clipping and length in O(n log n)."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

Interval = tuple[datetime, datetime]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals become one (spec R4: one continuous interruption)."""
    merged: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[1] >= i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def clip(intervals: Iterable[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    return [(max(s, lo), min(e, hi)) for s, e in intervals if s < hi and e > lo]


def seconds(intervals: Iterable[Interval]) -> float:
    return sum((e - s).total_seconds() for s, e in intervals)
