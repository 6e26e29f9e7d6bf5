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
