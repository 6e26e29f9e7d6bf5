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


def test_an_entry_after_a_rolled_back_transaction_links_to_the_committed_head(contracts):
    """Within a transaction the head is remembered; a rollback forgets it with the entries."""
    import pytest

    from desk.audit.services import record
    from desk.db import transaction

    head = db.session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    with pytest.raises(RuntimeError):
        with transaction():
            first = record(Actor.system("test"), "test.first", "test", 1)
            second = record(Actor.system("test"), "test.second", "test", 2)
            assert (first.prev_hash, second.prev_hash) == (head, first.hash)
            raise RuntimeError("abandoned")
    with transaction():
        third = record(Actor.system("test"), "test.third", "test", 3)
    assert third.prev_hash == head
    assert verify_chain() is None
