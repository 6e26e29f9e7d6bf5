"""A storm of reports about one outage is offered to the engineer as one incident."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from desk.audit.services import Actor
from desk.extensions import db
from desk.incidents.burst import burst_of
from desk.incidents.services import file_ticket
from desk.models import Incident, OutboxMessage, Ticket, Unit, utcnow
from tests.hotline.conftest import ENGINEER_PHONE, XJGAT_PHONE, text_message

TEST = Actor.system("test")


def unit(code: str) -> Unit:
    return db.session.execute(select(Unit).where(Unit.code == code)).scalar_one()


def report(code: str, minutes_ago: float) -> Ticket:
    ticket, _ = file_ticket(TEST, unit=unit(code), kind="interruption", channel="hotline",
                            reported_at=utcnow() - timedelta(minutes=minutes_ago))
    return ticket


def engineer_texts() -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(OutboxMessage.body).where(OutboxMessage.to == ENGINEER_PHONE)
                                   .order_by(OutboxMessage.id)).scalars())


def test_reports_within_the_window_form_one_burst_with_the_first_as_survivor(hotline):
    first = report("XJGAT", 50)
    second = report("XJGAT", 25)
    alone = report("QMGA", 24)          # another contract
    third = report("XJGAT", 1)
    burst = burst_of(third.incident)
    assert burst.survivor.id == first.incident.id and burst.minutes == 30
    assert [d.id for d in burst.duplicates] == [second.incident.id, third.incident.id]
    assert burst_of(alone.incident) is None
    # The engineer's alert for the later reports says so.
    texts = engineer_texts()
    assert "疑似同一故障" not in texts[0]
    assert f"首报工单{first.number}" in texts[1] and f"首报工单{first.number}" in texts[3]
    assert "疑似同一故障" not in texts[2]


def test_a_chain_breaks_where_the_gap_exceeds_the_window(app, hotline):
    app.config["DESK_BURST_MINUTES"] = 10
    old = report("XJGAT", 120)
    a = report("XJGAT", 30)
    b = report("XJGAT", 22)
    assert burst_of(old.incident) is None
    assert burst_of(b.incident).survivor.id == a.incident.id


def test_closed_incidents_are_not_offered(hotline):
    first = report("XJGAT", 20)
    second = report("XJGAT", 10)
    from desk.incidents.services import restore

    restore(TEST, first.incident)
    assert burst_of(second.incident) is None


def test_the_engineer_merges_the_burst_from_the_incident_page(app, client, hotline):
    first = report("XJGAT", 20)
    for n in range(3):
        assert text_message(client, f"SM{n:032d}", XJGAT_PHONE, f"报障 XJGAT 第{n}个报障").status_code == 200
    later = db.session.execute(select(Ticket).where(Ticket.channel == "sms").order_by(Ticket.id)).scalars().all()
    assert client.post("/login", data={"username": "duty", "password": "correct-horse-9"}).status_code in (302, 303)
    page = client.get(f"/incidents/{first.incident.id}").get_data(as_text=True)
    assert "疑似同一故障" in page and "本合同有4起报障在30分钟内相继报来" in page
    on_duplicate = client.get(f"/incidents/{later[0].incident.id}").get_data(as_text=True)
    assert "将本报障合并到首报故障" in on_duplicate
    for ticket in later:
        response = client.post(f"/incidents/{first.incident.id}/merge", data={"duplicate": ticket.incident.id})
        assert response.status_code in (302, 303)
    db.session.expire_all()
    survivor = db.session.get(Incident, first.incident.id)
    assert len(survivor.tickets) == 4 and burst_of(survivor) is None
    assert {i.status for i in db.session.execute(select(Incident).where(Incident.id != survivor.id)).scalars()} \
        == {"merged"}
    # The hint is gone (the engineers' new-ticket SMS, listed among the notifications, keep its words).
    assert '<section class="card burst">' not in client.get(f"/incidents/{survivor.id}").get_data(as_text=True)


def test_the_stored_heads_give_the_chain_the_definition_gives(app, hotline):
    """A storm's reports follow their predecessor's stored head instead of reading the chain; with
    reports filed back in time, gaps at exactly the window, reports of one instant and reports
    closed inside chains, every hint must still be the chain chain_of finds among the open
    reports."""
    import random

    from desk.incidents.burst import chain_of, hint_for, nearby_open
    from desk.incidents.services import restore

    rng = random.Random(11)
    unit_ = unit("XJGAT")
    start = utcnow().replace(microsecond=0) - timedelta(hours=90)
    latest, filed, full_reads = start, [], 0
    for step in range(300):
        roll = rng.random()
        if roll < 0.12 and filed:
            # Mostly inside the current chain, where a closure can break it.
            open_ones = [t for t in filed if t.incident.is_open][-6:]
            if open_ones:
                restore(TEST, rng.choice(open_ones).incident)
            continue
        if roll < 0.24:
            # Back in time, mostly into the last two hours, where it can bridge two chains.
            reach = timedelta(hours=2) if rng.random() < 0.8 else latest - start
            at = max(start, latest - reach * rng.random())
        else:
            step_minutes = rng.choice([0, 1, 5, 29, 30, 30, 31, 45]) if rng.random() < 0.5 else rng.uniform(0, 35)
            latest = latest + timedelta(minutes=step_minutes)
            at = latest
        nearby = nearby_open(unit_.contract_id, at)
        chain = chain_of(0, [p for p in nearby if p[1] <= at] + [(0, at)] + [p for p in nearby if p[1] > at])
        expected = (chain[0] or None, len(chain) - 1) if chain else (None, 0)
        hint = hint_for(unit_.contract_id, at)
        assert (hint.head_id, hint.others) == expected, step
        full_reads += hint.full_read
        filed.append(file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline", reported_at=at)[0])
    # The shortcut is taken most of the time, or the test proves nothing about it.
    assert full_reads < 150


def test_a_storm_reads_its_chain_once(app, hotline):
    from desk.incidents.burst import hint_for

    unit_ = unit("XJGAT")
    start = utcnow() - timedelta(hours=2)
    first = file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline", reported_at=start)[0]
    for n in range(1, 40):
        at = start + timedelta(minutes=n)
        hint = hint_for(unit_.contract_id, at)
        assert (hint.head_id, hint.others, hint.full_read) == (first.incident.id, n, False)
        file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline", reported_at=at)
    assert f"已有39起报障，疑似同一故障，首报工单{first.number}" in engineer_texts()[-1]
    # Another worker's report, a moment later, committed while this one was read: still no full read.
    hint = hint_for(unit_.contract_id, start + timedelta(minutes=39, seconds=-1))
    assert (hint.head_id, hint.others, hint.full_read) == (first.incident.id, 40, False)


def test_a_chain_split_by_a_closure_is_not_followed_across_the_gap(app, hotline):
    """H, m1, c, m2 one chain; c closes, so m2 stands more than the window after m1; a report back
    in time beside m1 then re-reads H's chain. A report after m2 joins m2 alone, not H."""
    from desk.incidents.burst import hint_for
    from desk.incidents.services import restore

    unit_ = unit("XJGAT")
    start = utcnow().replace(microsecond=0) - timedelta(hours=3)

    def filed(minutes: float) -> Ticket:
        return file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline",
                           reported_at=start + timedelta(minutes=minutes))[0]

    filed(0), filed(10)
    closed, m2 = filed(20), filed(50)
    restore(TEST, closed.incident)
    filed(15)
    hint = hint_for(unit_.contract_id, start + timedelta(minutes=60))
    assert (hint.head_id, hint.others) == (m2.incident.id, 1)


def test_a_full_read_leaves_a_concurrent_report_in_the_chain(app, hotline):
    """Two workers file into a chain that must be read in full (a report of it closed). The one
    whose read is older commits last; re-pointing the chain as it read it must not cut off the
    other's report, or every later report would read the chain in full again."""
    from desk.incidents.burst import hint_for
    from desk.incidents.services import intake_reads, restore

    unit_ = unit("XJGAT")
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)

    def at(minutes: float):
        return start + timedelta(minutes=minutes)

    def filed(minutes: float, reads=None) -> Ticket:
        return file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline", reported_at=at(minutes),
                           reads=reads)[0]

    first, closed = filed(0), filed(5)
    filed(10)
    restore(TEST, closed.incident)
    older_read = intake_reads(unit_, at(20))
    assert older_read.burst.full_read
    filed(21)                      # the other worker, read and committed in between
    filed(20, reads=older_read)
    hint = hint_for(unit_.contract_id, at(25))
    assert (hint.head_id, hint.others, hint.full_read) == (first.incident.id, 4, False)


def test_two_first_reports_filed_at_once_resolve_to_the_earlier(app, hotline):
    """Two workers file the storm's first reports at once; neither sees the other, both start a
    chain. The next report must name the earlier one as the first, not its own predecessor."""
    from desk.incidents.burst import hint_for
    from desk.incidents.services import intake_reads

    unit_ = unit("XJGAT")
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    blind = intake_reads(unit_, start + timedelta(seconds=1))
    first = file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline", reported_at=start)[0]
    file_ticket(TEST, unit=unit_, kind="interruption", channel="hotline", reported_at=start + timedelta(seconds=1),
                reads=blind)
    hint = hint_for(unit_.contract_id, start + timedelta(minutes=1))
    assert (hint.head_id, hint.others) == (first.incident.id, 2)


def test_the_sms_counts_a_long_chain_up_to_a_bound(app, hotline, monkeypatch):
    from desk.incidents import burst

    monkeypatch.setattr(burst, "COUNTED", 3)
    start = utcnow() - timedelta(hours=1)
    first = file_ticket(TEST, unit=unit("XJGAT"), kind="interruption", channel="hotline", reported_at=start)[0]
    for n in range(1, 6):
        file_ticket(TEST, unit=unit("XJGAT"), kind="interruption", channel="hotline",
                    reported_at=start + timedelta(minutes=n))
    texts = engineer_texts()
    assert f"已有3起报障，疑似同一故障，首报工单{first.number}" in texts[3]
    assert f"已有3余起报障，疑似同一故障，首报工单{first.number}" in texts[5]
