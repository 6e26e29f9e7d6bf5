from datetime import datetime, timedelta, timezone

from desk.sla.intervals import clip, seconds, union

T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)


def h(n):
    return T0 + timedelta(hours=n)


def test_union_merges_overlapping_and_touching():
    assert union([(h(5), h(6)), (h(0), h(2)), (h(2), h(3)), (h(1), h(1.5))]) == [(h(0), h(3)), (h(5), h(6))]


def test_union_keeps_gaps_of_one_second():
    gap = h(2) + timedelta(seconds=1)
    assert len(union([(h(0), h(2)), (gap, h(3))])) == 2


def test_clip_and_length():
    assert clip([(h(0), h(10))], h(2), h(5)) == [(h(2), h(5))]
    assert clip([(h(0), h(1))], h(2), h(5)) == []
    assert seconds([(h(0), h(1)), (h(2), h(4))]) == 3 * 3600
