"""Loading contracts and their police units from TOML files (spec §6), and what the contract's
records share: payments (`desk.contracts.payments`), maintenance notices (`maintenance`) and the
termination decision (`termination`) check their actor and their notes here."""
from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from desk.audit.services import Actor, record
from desk.auth.permissions import check_contract
from desk.db import transaction
from desk.errors import NotFound, ValidationFailed
from desk.extensions import db
from desk.models import Contract, ContractClause, Unit, UnitPhone
from desk.sla.terms import UNIT_TEXT_MAX, TermsError, terms_from_mapping, text_problem

PHONE = re.compile(r"^\+?[0-9]{5,20}$")
UNIT_KEYS = {"code", "name", "phones"}


def contract_files(paths: list[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.is_file():
            files.append(path)
        else:
            raise ValidationFailed(f"{path}: no such file or folder")
    if not files:
        raise ValidationFailed("no contract files (*.toml) found in " + ", ".join(map(str, paths)))
    return files


def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s\-()]", "", str(phone))


def phone_number(text) -> str | None:
    """The number as the desk keeps it (spaces, dashes and brackets dropped), or None when the
    text is not a phone number: for units' hotline numbers and people's SMS numbers alike."""
    if not isinstance(text, str):
        return None
    number = normalise_phone(text)
    return number if PHONE.match(number) else None


# A mainland mobile in E.164: +86 and eleven digits from 1. Any other +86 number is a landline
# (+86 991…, as Twilio gives a Ürümqi caller), which takes no SMS.
MAINLAND_MOBILE = re.compile(r"^\+861[0-9]{10}$")


def sms_number(number: str) -> str | None:
    """The number in E.164, as Twilio sends an SMS to it: a mainland mobile as +861…, given as
    +86…, 0086… or its eleven digits; another country's +… as given; None for anything else (a
    landline, a withheld caller's "anonymous"), which takes no SMS."""
    number = normalise_phone(number or "")
    if number.startswith("0086"):
        number = "+86" + number[4:]
    elif len(number) == 11 and number.startswith("1") and number.isdigit():
        number = "+86" + number
    if number.startswith("+86"):
        return number if MAINLAND_MOBILE.match(number) else None
    return number if PHONE.match(number) and number.startswith("+") else None


def phone_variants(number: str) -> list[str]:
    """A caller's number as Twilio sends it (+8613912345678) and as a contract may list it."""
    n = normalise_phone(number or "")
    if not n:
        return []
    variants = [n]
    if n.startswith("+86"):
        variants += [n[3:], "0086" + n[3:]]
    elif n.startswith("0086"):
        variants += ["+86" + n[4:], n[4:]]
    elif n.isdigit():
        variants += ["+86" + n, "0086" + n]
    return variants


def parse_contract_file(path: Path) -> tuple[dict, str]:
    """Read and validate one file; returns the mapping and its text, or raises with every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path.name}: not UTF-8 text")
    return parse_contract_text(text, path.name)


def parse_contract_text(text: str, name: str) -> tuple[dict, str]:
    """Validate one contract's TOML (`name` labels the problems); returns the mapping and the text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(f"{name}: not valid TOML: {exc}")
    errors: list[str] = []
    try:
        terms_from_mapping(data)
    except TermsError as exc:
        errors.extend(exc.errors)
    units = data.get("units", [])
    if not isinstance(units, list):
        errors.append("units: must be an array of tables [[units]]")
        units = []
    seen_codes: set[str] = set()
    # Every written form of each number listed so far (see phone_variants) → where it was listed.
    seen_phones: dict[str, str] = {}
    for i, unit in enumerate(units, 1):
        where = f"units[{i}]"
        if not isinstance(unit, dict):
            errors.append(f"{where}: must be a table")
            continue
        for key in set(unit) - UNIT_KEYS:
            errors.append(f"{where}: unknown key {key!r}")
        code, name = unit.get("code"), unit.get("name")
        code_problem = text_problem(code, key_like=True, max_len=UNIT_TEXT_MAX["code"])
        if problem := "required" if code is None else code_problem:
            errors.append(f"{where}.code: {problem}")
        elif code in seen_codes:
            errors.append(f"{where}.code: {code!r} appears twice")
        else:
            seen_codes.add(code)
        if problem := "required" if name is None else text_problem(name, max_len=UNIT_TEXT_MAX["name"]):
            errors.append(f"{where}.name: {problem}")
        phones = unit.get("phones", [])
        if not isinstance(phones, list):
            errors.append(f"{where}.phones: must be a list of numbers as text")
        else:
            for p in phones:
                if phone_number(p) is None:
                    errors.append(f"{where}.phones: {p!r} is not a phone number")
                    continue
                forms = phone_variants(p)
                first = next((seen_phones[f] for f in forms if f in seen_phones), None)
                if first is not None:
                    errors.append(f"{where}.phones: {p!r} is the same number as {first}")
                for form in forms:
                    seen_phones.setdefault(form, f"{p!r} in {where}.phones")
    if errors:
        raise ValidationFailed(f"{name}: contract rejected", errors=[f"{name}: {e}" for e in errors])
    return data, text


def load_contracts(paths: list[str | Path], actor: Actor) -> list[Contract]:
    """Load every file; all or nothing. Re-loading a code updates that contract in place."""
    files = contract_files(paths)
    parsed, errors = [], []
    for f in files:
        try:
            parsed.append(parse_contract_file(f))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    codes = [d["code"] for d, _ in parsed]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        errors.append("the same contract code in several files: " + ", ".join(sorted(dupes)))
    if errors:
        raise ValidationFailed("contracts rejected, nothing loaded", errors=errors)
    with transaction():
        return [_upsert(data, text, actor) for data, text in parsed]


def load_contract_text(text: str, actor: Actor) -> Contract:
    """One contract from the text an admin pasted or edited, through the same checks as a file."""
    try:
        data, text = parse_contract_text(text, "contract.toml")
    except ValidationFailed as exc:
        raise ValidationFailed("contracts rejected, nothing loaded", errors=exc.errors) from None
    with transaction():
        return _upsert(data, text, actor)


def _upsert(data: dict, text: str, actor: Actor) -> Contract:
    session = db.session
    contract = session.execute(select(Contract).where(Contract.code == data["code"])).scalar_one_or_none()
    before = contract.as_mapping() if contract else None
    if contract is None:
        contract = Contract(code=data["code"])
        session.add(contract)
    terms = terms_from_mapping(data)
    contract.title = terms.title
    contract.customer = terms.customer
    contract.carrier = terms.carrier
    contract.timezone = terms.timezone
    contract.service_start = terms.service_start
    contract.service_end = terms.service_end
    contract.total_amount = terms.total_amount
    contract.cards = terms.cards
    contract.monthly_fee = terms.monthly_fee
    contract.source_toml = text
    wanted = {name: {k: str(v) for k, v in params.items()} for name, params in data.get("clauses", {}).items()}
    for clause in list(contract.clauses):
        if clause.name not in wanted:
            contract.clauses.remove(clause)
    existing = {c.name: c for c in contract.clauses}
    for name, params in wanted.items():
        if name in existing:
            existing[name].params = params
        else:
            contract.clauses.append(ContractClause(name=name, params=params))
    session.flush()
    for unit_data in data.get("units", []):
        _upsert_unit(contract, unit_data)
    session.flush()
    record(actor, "contract.loaded" if before else "contract.created", "contract", contract.id,
           contract_id=contract.id, before=before, after=contract.as_mapping())
    return contract


def _upsert_unit(contract: Contract, data: dict) -> Unit:
    session = db.session
    unit = session.execute(select(Unit).where(Unit.code == data["code"])).scalar_one_or_none()
    if unit is not None and unit.contract_id != contract.id:
        raise ValidationFailed(
            f"unit {data['code']!r} already belongs to contract {unit.contract.code}; unit codes are unique"
        )
    if unit is None:
        unit = Unit(code=data["code"], contract=contract, name=data["name"])
        session.add(unit)
    unit.name = data["name"]
    phones = [normalise_phone(p) for p in data.get("phones", [])]
    for phone in list(unit.phones):
        if phone.phone not in phones:
            unit.phones.remove(phone)
    session.flush()
    have = {p.phone for p in unit.phones}
    for phone in phones:
        if phone in have:
            continue
        # In any of its written forms: the hotline looks a caller up by all of them, and would
        # pick either unit for a number registered for two.
        owner = session.execute(select(UnitPhone).where(
            UnitPhone.phone.in_(phone_variants(phone)), UnitPhone.unit_id != unit.id)).scalars().first()
        if owner is not None:
            raise ValidationFailed(f"unit {unit.code}: phone {phone} is already registered for unit "
                                   f"{owner.unit.code} (as {owner.phone})")
        unit.phones.append(UnitPhone(phone=phone))
    return unit


def unit_with_terms(condition) -> Unit | None:
    """The unit that `condition` names, with its contract and clauses, which a filing reads (the
    repair deadline, the cards): one query instead of three."""
    return db.session.execute(_unit_with_terms().where(condition)).unique().scalar_one_or_none()


@cache
def _unit_with_terms():
    # The loader options, built once: they cost more to build than the query to run.
    return select(Unit).options(joinedload(Unit.contract).joinedload(Contract.clauses))


def get_contract(code: str) -> Contract:
    contract = db.session.execute(select(Contract).where(Contract.code == code)).scalar_one_or_none()
    if contract is None:
        raise NotFound(f"no contract with code {code!r}")
    return contract


def all_contracts() -> list[Contract]:
    return list(db.session.execute(select(Contract).order_by(Contract.code)).scalars())


# ---------------------------------------------------------------------------------------------
# What the contract's records share.

MAX_PAYMENT_NOTE = 500
# A maintenance notice's description, a termination decision's note.
MAX_NOTE = 4000


def check_actor(actor: Actor, contract: Contract, action: str) -> Contract:
    """People act on a contract's records within their role and scope; system actors (the CLI,
    the demo, imports) are trusted."""
    if actor.user is not None:
        return check_contract(actor.user, contract, action)
    return contract
