"""Who may do what, in one table; and which incidents and contracts a user may see.

Every web route and every service asks here. Objects outside a user's scope are "not found"
(their existence is not revealed); an action a role may not take on a visible object is "forbidden".
"""
from __future__ import annotations

from sqlalchemy import or_, select

from desk.errors import Forbidden, NotFound
from desk.models import Contract, Incident, Ticket, Unit, User

REPORTER, UNIT_MANAGER = "unit_reporter", "unit_manager"
ENGINEER, CARRIER_MANAGER, ADMIN = "carrier_engineer", "carrier_manager", "admin"
CARRIER = (ENGINEER, CARRIER_MANAGER)

# action → roles allowed to take it (within their scope).
RULES: dict[str, tuple[str, ...]] = {
    # incidents
    "view_incident": (REPORTER, UNIT_MANAGER, ENGINEER, CARRIER_MANAGER, ADMIN),
    "file_ticket": (REPORTER, UNIT_MANAGER, ENGINEER, CARRIER_MANAGER),
    "comment": (REPORTER, UNIT_MANAGER, ENGINEER, CARRIER_MANAGER),
    "attach": (REPORTER, UNIT_MANAGER, ENGINEER, CARRIER_MANAGER),
    "acknowledge": CARRIER,
    "assign": CARRIER,
    "merge": CARRIER,
    "set_started": CARRIER,
    "restore": CARRIER,
    "propose_cause": CARRIER,
    "confirm_restoration": (REPORTER, UNIT_MANAGER),
    "dispute_restoration": (REPORTER, UNIT_MANAGER),
    "confirm_cause": (UNIT_MANAGER,),
    "dispute_cause": (UNIT_MANAGER,),
    # lists and contracts
    "view_list": (REPORTER, UNIT_MANAGER, ENGINEER, CARRIER_MANAGER, ADMIN),
    "view_queue": (ENGINEER, CARRIER_MANAGER, ADMIN),
    "view_contract": (UNIT_MANAGER, ENGINEER, CARRIER_MANAGER, ADMIN),
    "record_payment": (CARRIER_MANAGER,),
    "maintenance_notice": (CARRIER_MANAGER,),
    "termination_decision": (UNIT_MANAGER,),
    # administration
    "admin": (ADMIN,),
}


def may(user: User | None, action: str) -> bool:
    """The role half of a permission; scope is checked on the object."""
    if action not in RULES:
        raise KeyError(f"unknown action {action!r}")
    return user is not None and user.is_active and user.role in RULES[action]


def require(user: User | None, action: str) -> None:
    if not may(user, action):
        raise Forbidden(f"your role may not {action.replace('_', ' ')}")


def contract_ids(user: User) -> set[int] | None:
    """Contracts within the user's scope; None means every contract (admin)."""
    if user.role == ADMIN:
        return None
    ids = {c.id for c in user.contracts}
    if user.unit is not None:
        ids.add(user.unit.contract_id)
    return ids


def incident_scope(user: User):
    """A WHERE clause limiting incidents to those the user may see."""
    if user.role == ADMIN:
        return Incident.id.is_not(None)
    if user.role == REPORTER:
        # A reporter sees incidents of their own unit, including ones another unit's report was merged into.
        of_unit = select(Ticket.incident_id).where(Ticket.unit_id == user.unit_id)
        return or_(Incident.unit_id == user.unit_id, Incident.id.in_(of_unit))
    return Incident.contract_id.in_(contract_ids(user) or {-1})


def can_see_incident(user: User, incident: Incident) -> bool:
    if user.role == ADMIN:
        return True
    if user.role == REPORTER:
        return incident.unit_id == user.unit_id or any(t.unit_id == user.unit_id for t in incident.tickets)
    return incident.contract_id in (contract_ids(user) or set())


def check_incident(user: User, incident: Incident | None, action: str = "view_incident") -> Incident:
    """The incident, if the user may see it and take the action; else NotFound or Forbidden."""
    if incident is None or not can_see_incident(user, incident):
        raise NotFound("no such incident")
    require(user, action)
    return incident


def can_see_contract(user: User, contract: Contract) -> bool:
    ids = contract_ids(user)
    return ids is None or contract.id in ids


def check_contract(user: User, contract: Contract | None, action: str = "view_contract") -> Contract:
    if contract is None or not can_see_contract(user, contract):
        raise NotFound("no such contract")
    require(user, action)
    return contract


def units_for_filing(user: User) -> list[Unit]:
    """The units a user may file a fault for: a reporter their own, others the units of their contracts."""
    if not may(user, "file_ticket"):
        return []
    if user.role == REPORTER:
        return [user.unit] if user.unit is not None and user.unit.active else []
    ids = contract_ids(user) or set()
    from desk.extensions import db

    return list(db.session.execute(
        select(Unit).where(Unit.contract_id.in_(ids), Unit.active.is_(True)).order_by(Unit.code)
    ).scalars())


def check_unit_for_filing(user: User, unit: Unit | None) -> Unit:
    require(user, "file_ticket")
    if unit is None or unit.id not in {u.id for u in units_for_filing(user)}:
        raise NotFound("no such unit among those you may report for")
    return unit
