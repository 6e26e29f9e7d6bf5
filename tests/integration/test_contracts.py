"""Contracts as data: the seed files, re-loading, refusals, and a contract with other numbers."""
import html
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from desk.audit.services import Actor
from desk.auth.services import create_user
from desk.contracts.services import load_contract_text, load_contracts
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import AuditEntry, Contract, ContractClause, Unit, UnitPhone
from tests.conftest import CONTRACTS

ACTOR = Actor.system("test")

OTHER = """
code = "TEST-2H"
title = "测试合同"
customer = "测试县公安局"
carrier = "测试运营商"
timezone = "Asia/Shanghai"
service_start = 2025-01-01
service_end = 2025-12-31
total_amount = "100000.00"
cards = 10
monthly_fee = "1000.00"

[clauses.repair_deadline]
hours = 2
[clauses.incident_penalty]
percent_of_total = 2.5
[clauses.strike_termination]
threshold = 2
penalty_percent_of_total = 10

[[units]]
code = "T1"
name = "测试单位"
phones = ["+86 138-0000-0001"]
"""


def test_seed_contracts(contracts):
    xj, qm = contracts["XJGAT-POOL-2025"], contracts["QMGA-JWT-2025"]
    assert xj.total_amount == Decimal("639400.00") and xj.cards == 3360 and xj.monthly_fee is None
    assert qm.monthly_fee == Decimal("16350.00") and qm.cards == 60
    assert {c.name for c in xj.clauses} == {"repair_deadline", "incident_penalty", "strike_termination",
                                            "planned_maintenance"}
    assert {c.name for c in qm.clauses} == {"outage_day_waiver", "outage_period_waiver"}
    terms = xj.terms()
    assert terms.repair_deadline.hours == 4
    assert terms.strike_termination.threshold == 3
    assert qm.terms().outage_period_waiver.min_monthly_hours == 72
    assert [u.code for u in qm.units] == ["QMGA"]


def test_reload_updates_by_code(contracts, tmp_path):
    path = tmp_path / "q.toml"
    text = (contracts["QMGA-JWT-2025"].source_toml
            .replace("service_start = 2025-06-01", "service_start = 2025-07-01")
            .replace("service_end = 2028-05-31", "service_end = 2028-06-30"))
    path.write_text(text, encoding="utf-8")
    load_contracts([path], ACTOR)
    assert db.session.execute(select(func.count()).select_from(Contract)).scalar_one() == 2
    contract = db.session.execute(select(Contract).where(Contract.code == "QMGA-JWT-2025")).scalar_one()
    assert contract.service_start.isoformat() == "2025-07-01"


def test_other_numbers_and_phones(app, tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(OTHER, encoding="utf-8")
    (contract,) = load_contracts([path], ACTOR)
    terms = contract.terms()
    assert terms.repair_deadline.hours == 2
    assert terms.incident_penalty.percent_of_total == Decimal("2.5")
    assert terms.strike_termination.threshold == 2
    assert db.session.execute(select(UnitPhone.phone)).scalar_one() == "+8613800000001"


@pytest.mark.parametrize(
    "change, fragment",
    [
        (('cards = 10', 'cards = 0'), "cards"),
        (('hours = 2', 'hours = -2'), "hours"),
        (('[clauses.repair_deadline]', '[clauses.repair_dedline]'), "repair_dedline"),
        (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "timezone"),
        (('service_end = 2025-12-31', 'service_end = 2024-12-31'), "service_end"),
        (('code = "TEST-2H"', ''), "code"),
        (('phones = ["+86 138-0000-0001"]', 'phones = ["call me"]'), "phone"),
        (('total_amount = "100000.00"', 'total_amount = = 1'), "TOML"),
    ],
)
def test_bad_contract_files_are_refused(app, tmp_path, change, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(OTHER.replace(*change), encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        load_contracts([path], ACTOR)
    assert any(fragment in e for e in exc.value.errors), exc.value.errors
    assert db.session.execute(select(func.count()).select_from(Contract)).scalar_one() == 0


def test_folder_is_all_or_nothing(app, tmp_path):
    (tmp_path / "a.toml").write_text(OTHER, encoding="utf-8")
    (tmp_path / "b.toml").write_text(OTHER.replace('code = "TEST-2H"', 'code = "B"').replace("cards = 10", "cards = x"),
                                     encoding="utf-8")
    with pytest.raises(ValidationFailed):
        load_contracts([tmp_path], ACTOR)
    assert db.session.execute(select(func.count()).select_from(Unit)).scalar_one() == 0


def test_cli_load_contracts(runner, app, tmp_path):
    result = runner.invoke(args=["load-contracts", "config/contracts"])
    assert result.exit_code == 0, result.output
    assert "loaded QMGA-JWT-2025" in result.output and "loaded XJGAT-POOL-2025" in result.output
    missing = runner.invoke(args=["load-contracts", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_init_db_is_safe_twice(runner):
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output


def test_terms_follow_every_change_of_the_stored_contract(contracts):
    """terms() is remembered per contract object; a change of a column, of a clause's params in
    place or by assignment, or of the clauses themselves, must show at the next call."""
    contract = contracts["XJGAT-POOL-2025"]
    assert contract.terms() is contract.terms()
    assert contract.terms().repair_deadline.hours == 4
    clause = next(c for c in contract.clauses if c.name == "repair_deadline")
    clause.params["hours"] = 6
    assert contract.terms().repair_deadline.hours == 6
    clause.params = {**clause.params, "hours": 8}
    assert contract.terms().repair_deadline.hours == 8
    contract.cards = contract.cards + 1
    assert contract.terms().cards == contract.cards
    contract.clauses.remove(clause)
    assert contract.terms().repair_deadline is None


def test_terms_are_shared_by_equal_contents_only(contracts):
    """Parsed terms are remembered per process by the contract's content: another load of the same
    contract gets the same terms, an edited clause gets its own, and going back finds the first."""
    contract = contracts["XJGAT-POOL-2025"]
    first = contract.terms()
    db.session.expire_all()
    reloaded = db.session.get(Contract, contract.id)
    assert reloaded.terms() is first
    clause = next(c for c in reloaded.clauses if c.name == "repair_deadline")
    stored = dict(clause.params)
    clause.params = {**stored, "hours": "6"}
    edited = reloaded.terms()
    assert edited is not first and edited.repair_deadline.hours == 6
    clause.params = stored
    assert reloaded.terms() is first
    other = contracts["QMGA-JWT-2025"]
    assert other.terms() is not first and other.terms().code == other.code


def test_the_stored_toml_is_read_only_when_asked_for(contracts):
    """source_toml is deferred: a contract loads without it, and reading it fetches the text."""
    from sqlalchemy import inspect

    code = "XJGAT-POOL-2025"
    db.session.expunge_all()
    contract = db.session.execute(select(Contract).where(Contract.code == code)).scalar_one()
    assert "source_toml" in inspect(contract).unloaded
    assert f'code = "{code}"' in contract.source_toml


def row_counts() -> dict[str, int]:
    return {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Contract, ContractClause, Unit, UnitPhone, AuditEntry)}


def test_contract_text_loads_through_the_service_as_a_file_does(app, tmp_path):
    """The admin's pasted TOML goes through the same checks as a file, with no file written."""
    contract = load_contract_text(OTHER, ACTOR)
    assert (contract.code, contract.cards, [u.code for u in contract.units]) == ("TEST-2H", 10, ["T1"])
    assert db.session.execute(select(AuditEntry.action).where(AuditEntry.entity == "contract")).scalars().all() \
        == ["contract.created"]
    before = row_counts()
    bad = OTHER.replace("cards = 10", "cards = 0")
    with pytest.raises(ValidationFailed) as from_text:
        load_contract_text(bad, ACTOR)
    (tmp_path / "contract.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ValidationFailed) as from_file:
        load_contracts([tmp_path / "contract.toml"], ACTOR)
    assert (from_text.value.message, from_text.value.errors) == (from_file.value.message, from_file.value.errors)
    db.session.rollback()
    assert row_counts() == before


@pytest.fixture
def admin_client(app, contracts):
    """The seed contracts loaded, and an admin signed in to the web desk."""
    create_user(ACTOR, username="root", password="correct-horse-9", role="admin")
    client = app.test_client()
    assert client.post("/login", data={"username": "root", "password": "correct-horse-9"}).status_code == 302
    client.post("/language", data={"locale": "en"})  # the page says what load-contracts says
    return client


def assert_refused_everywhere(runner, admin_client, tmp_path, text: str, named: str) -> None:
    """load-contracts says `error:` and names the field, exiting 1 without a traceback; the admin
    form answers 422 naming it; neither writes a row."""
    before = row_counts()
    path = tmp_path / "refused.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["load-contracts", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.startswith("error: ") and named in result.output, result.output
    db.session.rollback()
    assert row_counts() == before
    response = admin_client.post("/admin/contracts", data={"toml": text})
    assert response.status_code == 422 and named in html.unescape(response.get_data(as_text=True))
    db.session.rollback()
    assert row_counts() == before


@pytest.mark.parametrize("change, named", [
    # Clause parameters: 1e30 hours was loaded, and then every filing, report and tick of the
    # contract raised OverflowError.
    (("hours = 2", "hours = 1e30"), "clauses.repair_deadline.hours: a number of hours of at most 8,784"),
    (("hours = 2", "hours = 8785"), "clauses.repair_deadline.hours: a number of hours of at most 8,784"),
    (("percent_of_total = 2.5", "percent_of_total = 1e30"), "clauses.incident_penalty.percent_of_total"),
    (("threshold = 2", "threshold = 1e30"), "clauses.strike_termination.threshold: a whole number of at most 100"),
    (("[[units]]", "[clauses.outage_period_waiver]\nmin_monthly_hours = 745\n[[units]]"),
     "clauses.outage_period_waiver.min_monthly_hours: a number of hours of at most 744"),
    # Top-level values: taken by the checks, then raised in the write (OverflowError, StatementError,
    # TypeError) or, for year 9999, in every reading of the service period.
    (("cards = 10", "cards = 100000000000000000000"), "cards: must be a whole number from 1 to 10,000,000"),
    (('total_amount = "100000.00"', 'total_amount = "1e30"'), "total_amount: at most 999,999,999,999.99"),
    (('total_amount = "100000.00"', 'total_amount = "588600.005"'), "total_amount: at most two decimals"),
    (('monthly_fee = "1000.00"', 'monthly_fee = "1000.001"'), "monthly_fee: at most two decimals"),
    (("service_start = 2025-01-01", "service_start = 2025-01-01T10:00:00"),
     "service_start: a date (YYYY-MM-DD), not a date and time"),
    (("service_end = 2025-12-31", "service_end = 9999-12-31"), "service_end: a date from 2000-01-01 to 2099-12-31"),
])
def test_values_that_crashed_after_loading_are_refused(runner, admin_client, tmp_path, change, named):
    assert_refused_everywhere(runner, admin_client, tmp_path, OTHER.replace(*change), named)


@pytest.mark.parametrize("code", ["  ", ""])
def test_a_blank_contract_code_is_refused_as_blank(runner, admin_client, tmp_path, contracts, code):
    """The seed QMGA file with a blank code was refused for the wrong reason ("unit 'QMGA' already
    belongs to contract QMGA-JWT-2025"), or, with a unit of its own, loaded as contract "  "."""
    text = contracts["QMGA-JWT-2025"].source_toml.replace('code = "QMGA-JWT-2025"', f'code = "{code}"')
    assert_refused_everywhere(runner, admin_client, tmp_path, text, "code: blank")
    assert "already belongs" not in admin_client.post("/admin/contracts", data={"toml": text}).get_data(as_text=True)
    assert_refused_everywhere(runner, admin_client, tmp_path, OTHER.replace('code = "TEST-2H"', f'code = "{code}"'),
                              "code: blank")


@pytest.mark.parametrize("code, named", [
    ("  ", "units[1].code: blank"),
    (" T1", "units[1].code: spaces before or after"),
    # A comma separates an SMS's fields (报障 <unit code>，…): the unit could not be named by SMS.
    ("T,1", "units[1].code: letters, digits, '-', '_' and '.' only"),
])
def test_a_blank_or_padded_unit_code_is_refused(runner, admin_client, tmp_path, code, named):
    assert_refused_everywhere(runner, admin_client, tmp_path, OTHER.replace('code = "T1"', f'code = "{code}"'), named)


@pytest.mark.parametrize("change, named", [
    (('title = "测试合同"', 'title = "' + "专" * 301 + '"'), "title: 301 characters, at most 300"),
    (('name = "测试单位"', 'name = "' + "所" * 201 + '"'), "units[1].name: 201 characters, at most 200"),
])
def test_text_longer_than_its_column_is_refused(runner, admin_client, tmp_path, change, named):
    """A title of 301 characters loaded on SQLite and failed the whole load on PostgreSQL with the
    database's error; both now refuse it by name before writing."""
    assert_refused_everywhere(runner, admin_client, tmp_path, OTHER.replace(*change), named)


def register_qmga_phone(tmp_path, phone: str) -> None:
    """The seed QMGA file, loaded again with phone as its unit's one number."""
    path = tmp_path / "qmga.toml"
    seed = (CONTRACTS / "qmga-jwt-2025.toml").read_text(encoding="utf-8")
    path.write_text(seed.replace("phones = []", f'phones = ["{phone}"]'), encoding="utf-8")
    load_contracts([path], ACTOR)


@pytest.mark.parametrize("written", ["0086 13900000001", "13900000001", "+86 139-0000-0001", "+8613900000001"])
def test_a_phone_of_another_unit_is_refused_in_any_written_form(runner, admin_client, tmp_path, contracts, written):
    """Registered for QMGA as +8613900000001, the number was taken for another unit as
    0086 13900000001, and the hotline then picked either unit for that caller."""
    register_qmga_phone(tmp_path, "+8613900000001")
    text = OTHER.replace('"+86 138-0000-0001"', f'"{written}"')
    assert_refused_everywhere(runner, admin_client, tmp_path, text, "is already registered for unit QMGA")
    assert "unit T1: phone" in runner.invoke(args=["load-contracts", str(tmp_path / "refused.toml")]).output


def test_a_unit_may_write_its_own_number_another_way(contracts, tmp_path):
    register_qmga_phone(tmp_path, "+8613900000001")
    register_qmga_phone(tmp_path, "0086 13900000001")
    assert db.session.execute(select(UnitPhone.phone)).scalars().all() == ["008613900000001"]


@pytest.mark.parametrize("phones, second_unit_phones", [
    ('"+8613900000003", "0086 139 0000 0003"', None),
    ('"+8613900000003"', '"13900000003"'),
])
def test_one_number_twice_in_a_file_is_refused(runner, admin_client, tmp_path, phones, second_unit_phones):
    text = OTHER.replace('"+86 138-0000-0001"', phones)
    if second_unit_phones:
        text += f'\n[[units]]\ncode = "T2"\nname = "测试单位二"\nphones = [{second_unit_phones}]\n'
    where = "units[2].phones" if second_unit_phones else "units[1].phones"
    assert_refused_everywhere(runner, admin_client, tmp_path, text,
                              f"{where}: '{'13900000003' if second_unit_phones else '0086 139 0000 0003'}' is the "
                              "same number as '+8613900000003' in units[1].phones")
