"""Demo data: only with DESK_DEMO=1, created once, and `flask demo` says how to sign in."""
from __future__ import annotations

from sqlalchemy import func, select

from desk.extensions import db
from desk.models import CauseProposal, Incident, User


def counts() -> tuple[int, int]:
    return (db.session.execute(select(func.count()).select_from(User)).scalar_one(),
            db.session.execute(select(func.count()).select_from(Incident)).scalar_one())


def test_without_desk_demo_nothing_fake_is_created(app, runner, contracts):
    app.config["DESK_DEMO"] = False
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "no demo data" in result.output
    assert counts() == (0, 0)


def test_demo_creates_every_role_and_a_month_once(app, runner, contracts):
    from desk.demo import PASSWORD, USERS

    app.config["DESK_DEMO"] = True
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert PASSWORD in result.output
    for spec in USERS:
        assert spec.username in result.output
    roles = set(db.session.execute(select(User.role)).scalars())
    assert roles == {"unit_reporter", "unit_manager", "carrier_engineer", "carrier_manager", "admin"}
    first = counts()
    assert first[1] >= 8
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already present" in again.output
    assert counts() == first
    client = app.test_client()
    assert client.post("/login", data={"username": "manager.gat", "password": PASSWORD}).status_code == 302
    page = client.get("/contracts/XJGAT-POOL-2025").get_data(as_text=True)
    assert 'id="termination"' in page  # the demo month reaches the third strike (六.(六))
    # The engineers' evidence is words, as a person types it, not the cause's code ("现场排查记录：carrier").
    evidence = db.session.execute(select(CauseProposal.evidence, CauseProposal.cause)).all()
    assert evidence and all(text and cause not in text for text, cause in evidence), evidence


def test_demo_needs_the_contracts(app, runner):
    app.config["DESK_DEMO"] = True
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0 and "load config/contracts" in result.output


def test_a_demo_that_fails_half_way_leaves_nothing_and_the_next_run_completes_it(app, runner, contracts,
                                                                                  monkeypatch):
    """The demo's users were committed before its faults: a failure in between left a demo that the
    next `make run` took as present (it looks for the first user), without a single fault."""
    from desk.contracts import payments
    from desk.models import AuditEntry, UnitPhone

    app.config["DESK_DEMO"] = True

    def broken(*args, **kwargs):
        raise RuntimeError("the disk filled up")

    with monkeypatch.context() as patch:
        patch.setattr(payments, "record_payment", broken)
        result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    db.session.rollback()
    assert counts() == (0, 0) and db.session.execute(select(func.count()).select_from(UnitPhone)).scalar_one() == 0
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert counts()[0] == 7 and counts()[1] >= 8
    # The hotline numbers it registers are in the audit log, as every change of a unit.
    registered = db.session.execute(select(AuditEntry.after).where(AuditEntry.action == "unit.phone_registered"))
    assert sorted(a["phone"] for a in registered.scalars()) == ["+8613900000001", "+8613900000002"]
