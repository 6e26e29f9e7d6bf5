"""The incident services: each transition, each refusal (with nothing written), and the audit
entry written in the same transaction as the change."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from desk.audit.services import Actor, verify_chain
from desk.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from desk.extensions import db
from desk.incidents import services
from desk.models import AuditEntry, CauseProposal, ClockEvent, Comment, Ticket, Unit, utcnow
from tests.web.conftest import refused


def actions(incident_id: int) -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).where(AuditEntry.incident_id == incident_id)
                                   .order_by(AuditEntry.id)).scalars())


def test_the_whole_path_writes_one_audit_entry_per_change(world):
    incident, engineer = world.incident, world.actor("engineer")
    now = utcnow()
    services.acknowledge(engineer, incident, now=now)
    assert incident.status == "acknowledged" and incident.assigned_engineer_id == world.users["engineer"].id
    services.set_started(engineer, incident, incident.reported_at - timedelta(minutes=30), now=now)
    services.restore(engineer, incident, now, now=now)
    services.propose_cause(engineer, incident, "third_party", "光缆被施工挖断，附照片", now=now)
    assert incident.cause == "third_party" and not incident.cause_confirmed
    services.confirm_restoration(world.actor("reporter"), incident, now=now)
    services.confirm_cause(world.actor("unit_manager"), incident, "属实", now=now)
    assert incident.status == "confirmed" and incident.cause_confirmed
    assert actions(incident.id) == [
        "ticket.filed", "incident.opened", "attachment.added", "incident.acknowledged", "incident.started_set",
        "incident.restored", "cause_proposal.created", "incident.cause_proposed",
        "incident.restoration_confirmed", "cause_proposal.confirmed", "incident.cause_confirmed",
    ]
    assert verify_chain() is None
    # The clock has nothing pending for a restored incident.
    pending = db.session.execute(select(ClockEvent).where(ClockEvent.incident_id == incident.id,
                                                          ClockEvent.status == "pending")).scalars().all()
    assert pending == []


def test_start_before_the_service_began_is_refused(world):
    incident = world.incident
    exc = refused(ValidationFailed, services.set_started, world.actor("engineer"), incident,
                  datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert "before the contract's service began" in exc.message
    assert incident.started_at == incident.reported_at


def test_restore_before_start_is_refused(world):
    incident = world.incident
    exc = refused(InvalidTransition, services.restore, world.actor("engineer"), incident,
                  incident.started_at - timedelta(minutes=1))
    assert "before the interruption started" in exc.message
    assert incident.status == "open" and incident.restored_at is None


def test_restore_in_the_future_and_twice_is_refused(world):
    incident, engineer = world.incident, world.actor("engineer")
    refused(ValidationFailed, services.restore, engineer, incident, utcnow() + timedelta(hours=1))
    services.restore(engineer, incident)
    exc = refused(InvalidTransition, services.restore, engineer, incident)
    assert "only an open incident" in exc.message


def test_confirming_an_open_ticket_is_refused(world):
    exc = refused(InvalidTransition, services.confirm_restoration, world.actor("reporter"), world.incident)
    assert "only a restored incident can be confirmed" in exc.message
    assert world.incident.status == "open" and world.incident.confirmed_at is None


def test_merge_across_contracts_is_refused(world):
    # A carrier manager of both contracts sees both incidents; the contracts still differ.
    from desk.auth.services import create_user

    both = create_user(Actor.system("test"), username="cm_both", password="correct-horse-9",
                       role="carrier_manager", contract_codes=["XJGAT-POOL-2025", "QMGA-JWT-2025"])
    exc = refused(InvalidTransition, services.merge, Actor.of_user(both), world.incident, world.other_incident)
    assert "different contracts" in exc.message
    assert world.other_incident.status == "open" and world.other_incident.merged_into_id is None


def test_merge_moves_the_tickets_and_keeps_the_first_report(world):
    engineer = world.actor("engineer")
    unit = db.session.execute(select(Unit).where(Unit.code == "XJGAT-KS")).scalar_one()
    later = services.file_fault(world.actor("reporter_other_unit"), unit=unit, kind="interruption",
                                description="同一故障", affected_cards=3360).incident
    first_reported = world.incident.reported_at
    services.merge(engineer, later, world.incident)
    assert later.reported_at == first_reported  # the repair clock starts at the first report
    assert world.incident.status == "merged" and world.incident.merged_into_id == later.id
    assert {t.id for t in later.tickets} >= {world.ticket_id}
    refused(InvalidTransition, services.merge, engineer, later, world.incident)  # merged already
    refused(InvalidTransition, services.merge, engineer, later, later)


def test_dispute_restoration_reopens_with_the_reason(world):
    incident = world.incident
    services.restore(world.actor("engineer"), incident)
    refused(ValidationFailed, services.dispute_restoration, world.actor("reporter"), incident, "  ")
    services.dispute_restoration(world.actor("reporter"), incident, "仍然无法上网")
    assert incident.status == "open" and incident.restored_at is None
    assert db.session.execute(select(Comment.body).where(Comment.incident_id == incident.id)).scalar() == "仍然无法上网"
    # The repair clock runs again: its deadline events are pending once more.
    pending = db.session.execute(select(func.count()).select_from(ClockEvent).where(
        ClockEvent.incident_id == incident.id, ClockEvent.status == "pending")).scalar_one()
    assert pending > 0


def test_disputed_cause_counts_as_undetermined(world):
    incident = world.incident
    services.propose_cause(world.actor("engineer"), incident, "customer", "用户终端配置错误")
    assert incident.cause == "customer"
    refused(ValidationFailed, services.dispute_cause, world.actor("unit_manager"), incident, "")
    services.dispute_cause(world.actor("unit_manager"), incident, "终端配置由运营商下发")
    assert incident.cause == "undetermined" and not incident.cause_confirmed
    statuses = db.session.execute(select(CauseProposal.status).where(CauseProposal.incident_id == incident.id)).scalars()
    assert list(statuses) == ["disputed"]
    refused(InvalidTransition, services.confirm_cause, world.actor("unit_manager"), incident)


def test_cause_proposal_checks_its_evidence_and_notice(world):
    engineer = world.actor("engineer")
    exc = refused(ValidationFailed, services.propose_cause, engineer, world.incident, "planned_maintenance", "")
    assert any("evidence" in e for e in exc.errors) and any("maintenance_notice" in e for e in exc.errors)
    refused(ValidationFailed, services.propose_cause, engineer, world.incident, "undetermined", "x")
    refused(ValidationFailed, services.propose_cause, engineer, world.incident, "acts of god", "x")


def test_roles_are_checked_by_the_services_too(world):
    refused(Forbidden, services.acknowledge, world.actor("reporter"), world.incident)
    refused(Forbidden, services.confirm_cause, world.actor("reporter"), world.incident)
    refused(NotFound, services.acknowledge, world.actor("engineer_other"), world.incident)
    refused(NotFound, services.add_comment, world.actor("reporter_other_unit"), world.incident, "hello")


def test_filing_with_a_bad_attachment_writes_nothing(world):
    unit = world.incident.unit
    tickets = db.session.execute(select(func.count()).select_from(Ticket)).scalar_one()
    exc = refused(ValidationFailed, services.file_fault, world.actor("reporter"), unit=unit, kind="interruption",
                  description="x", uploads=[services.Upload("fake.png", "image/png", b"<html>not a png")])
    assert "not image/png" in exc.errors[0]
    refused(ValidationFailed, services.file_fault, world.actor("reporter"), unit=unit, kind="outage",
            description="x")
    assert db.session.execute(select(func.count()).select_from(Ticket)).scalar_one() == tickets


def test_a_riff_file_that_is_not_webp_is_refused_as_webp(world):
    """Any RIFF file (a WAV, an AVI) passed as image/webp and was served inline as a picture."""
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32
    webp = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
    exc = refused(ValidationFailed, services.check_uploads, [services.Upload("scene.webp", "image/webp", wav)])
    assert exc.errors == ["attachments: scene.webp: the content is not image/webp"]
    assert services.check_uploads([services.Upload("scene.webp", "image/webp", webp)])


def test_a_reporter_files_only_for_their_unit(world):
    other = db.session.execute(select(Unit).where(Unit.code == "XJGAT-KS")).scalar_one()
    refused(NotFound, services.file_fault, world.actor("reporter"), unit=other, kind="interruption", description="x")
