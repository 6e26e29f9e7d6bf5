"""The audit log is append-only and tamper-evident."""
from pathlib import Path

from sqlalchemy import select, text

from desk.audit.services import Actor, verify_chain
from desk.extensions import db
from desk.incidents.imports import import_incidents
from desk.models import AuditEntry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_chain_verifies_and_finds_the_altered_entry(contracts, runner):
    import_incidents("QMGA-JWT-2025", (FIXTURES / "qmga-2025-06.csv").read_bytes(), Actor.system("test"))
    assert verify_chain() is None
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    target = entries[len(entries) // 2]
    db.session.execute(text("UPDATE audit_entry SET actor_label = 'someone-else' WHERE id = :id"), {"id": target.id})
    db.session.commit()
    db.session.expire_all()
    broken = verify_chain()
    assert broken is not None and broken.entry_id == target.id
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and f"entry {target.id}" in result.output


def test_entries_link_to_their_predecessor(contracts):
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert entries and entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))


def test_a_transactions_entries_link_in_order_as_it_commits(contracts):
    """Entries are linked to the head at the commit, in the order recorded; a rollback forgets them."""
    import pytest

    from desk.audit.services import record
    from desk.db import transaction

    head = db.session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    with pytest.raises(RuntimeError):
        with transaction():
            record(Actor.system("test"), "test.abandoned", "test", 1)
            raise RuntimeError("abandoned")
    with transaction():
        first = record(Actor.system("test"), "test.first", "test", 2)
        second = record(Actor.system("test"), "test.second", "test", 3)
        assert first.hash is None  # not linked before the commit
    assert (first.prev_hash, second.prev_hash) == (head, first.hash)
    stored = db.session.execute(select(AuditEntry.action, AuditEntry.prev_hash, AuditEntry.hash)
                                .order_by(AuditEntry.id.desc()).limit(2)).all()
    assert stored[::-1] == [("test.first", head, first.hash), ("test.second", first.hash, second.hash)]
    assert not db.session.execute(select(AuditEntry).where(AuditEntry.action == "test.abandoned")).first()
    assert verify_chain() is None


def test_what_a_rolled_back_savepoint_recorded_is_not_in_the_chain(contracts):
    """A savepoint (one clock event of a batch) that rolls back takes its entries with it."""
    from desk.audit.services import record
    from desk.db import transaction

    with transaction() as session:
        record(Actor.system("test"), "test.before", "test", 1)
        try:
            with session.begin_nested():
                record(Actor.system("test"), "test.rolled_back", "test", 2)
                raise RuntimeError("this event failed")
        except RuntimeError:
            pass
        with session.begin_nested():
            record(Actor.system("test"), "test.kept", "test", 3)
        record(Actor.system("test"), "test.after", "test", 4)
    actions = db.session.execute(select(AuditEntry.action).where(AuditEntry.entity == "test")
                                 .order_by(AuditEntry.id)).scalars().all()
    assert actions == ["test.before", "test.kept", "test.after"]
    assert verify_chain() is None
