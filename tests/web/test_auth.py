"""Signing in: hashed passwords, the database-backed rate limit, cookie flags, CSRF, no open redirect;
creating users from the CLI and the admin form."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from desk.auth.services import LOGIN_WINDOW, MAX_FAILURES_PER_USER, TooManyAttempts, login
from desk.errors import ValidationFailed
from desk.extensions import db
from desk.models import AuditEntry, LoginAttempt, User, utcnow
from desk.models.users import user_contract

PASSWORD = "correct-horse-9"


def test_passwords_are_stored_hashed(world):
    stored = db.session.execute(select(User.password_hash).where(User.username == "reporter")).scalar_one()
    assert PASSWORD not in stored and stored.startswith("scrypt:")


def test_sign_in_sets_a_httponly_samesite_session(app, world):
    client = app.test_client()
    response = client.post("/login", data={"username": "reporter", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/incidents"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/incidents").status_code == 200


def test_wrong_password_is_refused_with_a_message(app, world):
    response = app.test_client().post("/login", data={"username": "reporter", "password": "nope-nope"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_rate_limit_counts_attempts_in_the_database(app, world):
    now = utcnow()
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(ValidationFailed):
            login("reporter", "wrong-password", "10.0.0.1", now=now)
    # Even the right password is refused now, from any address: another worker reads the same rows.
    with pytest.raises(TooManyAttempts):
        login("reporter", PASSWORD, "10.9.9.9", now=now + timedelta(minutes=1))
    response = app.test_client().post("/login", data={"username": "reporter", "password": PASSWORD})
    assert response.status_code == 429
    # After the window (an injected clock, no sleeping) the right password works again.
    assert login("reporter", PASSWORD, "10.0.0.1", now=now + LOGIN_WINDOW + timedelta(seconds=1)).username == "reporter"
    failures = db.session.execute(select(func.count()).select_from(LoginAttempt)
                                  .where(LoginAttempt.succeeded.is_(False))).scalar_one()
    assert failures == MAX_FAILURES_PER_USER


def _at_once(app, sign_ins: list[tuple[str, str]]) -> list:
    """Sign-ins sent at once, each from a thread of its own (as gunicorn's workers take them):
    the user each signed in, or the refusal's class."""
    import threading

    start, outcomes = threading.Barrier(len(sign_ins)), []

    def attempt(username: str, password: str, n: int) -> None:
        with app.app_context():
            start.wait()
            try:
                outcomes.append(login(username, password, f"10.1.0.{n}").username)
            except (ValidationFailed, TooManyAttempts) as exc:
                outcomes.append(type(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(*pair, n)) for n, pair in enumerate(sign_ins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()  # this thread's read began before the attempts were written
    return outcomes


def test_a_burst_of_concurrent_guesses_is_held_to_the_limit(app, world):
    """Guesses sent at once each used to count the failures before any of them was written, and all
    had their password checked."""
    outcomes = _at_once(app, [("reporter", f"guess-{n}") for n in range(MAX_FAILURES_PER_USER + 3)])
    assert outcomes.count(ValidationFailed) == MAX_FAILURES_PER_USER  # passwords checked, no more
    assert outcomes.count(TooManyAttempts) == 3
    # The refused ones are not counted as failures: after the window the user signs in again.
    failures = db.session.execute(select(func.count()).select_from(LoginAttempt)
                                  .where(LoginAttempt.succeeded.is_(False))).scalar_one()
    assert failures == MAX_FAILURES_PER_USER
    assert login("reporter", PASSWORD, now=utcnow() + LOGIN_WINDOW).username == "reporter"


def test_many_sign_ins_of_one_user_at_once_all_succeed(app, world):
    """The checks still under way count against the limit only until they succeed: a user signed in
    from many clients at once (a load driver does) is not refused."""
    assert _at_once(app, [("reporter", PASSWORD)] * (MAX_FAILURES_PER_USER * 2 + 2)) == ["reporter"] * 12


def test_a_success_clears_earlier_failures(world):
    now = utcnow()
    for _ in range(MAX_FAILURES_PER_USER - 1):
        with pytest.raises(ValidationFailed):
            login("engineer", "wrong-password", now=now)
    login("engineer", PASSWORD, now=now + timedelta(seconds=1))
    for _ in range(MAX_FAILURES_PER_USER - 1):
        with pytest.raises(ValidationFailed):
            login("engineer", "wrong-password", now=now + timedelta(seconds=2))
    assert login("engineer", PASSWORD, now=now + timedelta(seconds=3)).username == "engineer"


def test_deactivated_user_cannot_sign_in_and_loses_the_session(app, world, signin):
    from desk.audit.services import Actor
    from desk.auth.services import set_user_active

    client = signin("reporter")
    set_user_active(Actor.of_user(world.users["admin"]), world.users["reporter"].id, False)
    assert client.get("/incidents").status_code == 302
    assert app.test_client().post("/login", data={"username": "reporter", "password": PASSWORD}).status_code == 401


def test_a_password_reset_ends_the_sessions_of_the_old_password(app, world, signin):
    """An admin resets the password of an account that leaked: whoever holds a session of it is out."""
    from desk.audit.services import Actor
    from desk.auth.services import reset_password

    stolen, other = signin("reporter"), signin("engineer")
    assert stolen.get("/incidents").status_code == 200
    reset_password(Actor.of_user(world.users["admin"]), world.users["reporter"].id, "new-password-42")
    response = stolen.get("/incidents")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert other.get("/incidents").status_code == 200  # other users' sessions are untouched
    assert signin("reporter", "new-password-42").get("/incidents").status_code == 200
    # An admin who resets their own password on the admin page stays signed in.
    admin = signin("admin")
    assert admin.post(f"/admin/users/{world.users['admin'].id}/password",
                      data={"password": "admin-new-pass-1"}).status_code == 303
    assert admin.get("/admin/").status_code == 200


def test_a_deactivated_username_takes_as_long_to_refuse_as_an_unknown_one(world):
    """The refusal of a deactivated user skipped the password hash: answered in a millisecond instead
    of scrypt's tens, it told which usernames exist."""
    import time

    from desk.audit.services import Actor
    from desk.auth.services import authenticate, set_user_active

    set_user_active(Actor.of_user(world.users["admin"]), world.users["reporter"].id, False)

    def quickest(username: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert authenticate(username, "any-password-1") is None
            times.append(time.perf_counter() - start)
        return min(times)

    assert quickest("reporter") > quickest("nobody-of-that-name") / 2


def test_next_never_leaves_the_site(app, world):
    client = app.test_client()
    response = client.post("/login?next=https://evil.example/x", data={"username": "reporter", "password": PASSWORD})
    assert response.headers["Location"] == "/incidents"
    client = app.test_client()
    response = client.post("/login?next=/tickets/new", data={"username": "reporter", "password": PASSWORD})
    assert response.headers["Location"] == "/tickets/new"


def test_every_form_needs_the_csrf_token(app, world, signin):
    client = signin("engineer")
    app.config["WTF_CSRF_ENABLED"] = True
    path = f"/incidents/{world.incident.id}/acknowledge"
    refused = client.post(path)
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert world.incident.status == "open"
    page = client.get(f"/incidents/{world.incident.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert world.incident.status == "acknowledged"
    # Signing in and switching the language are forms too.
    assert app.test_client().post("/login", data={"username": "engineer", "password": PASSWORD}).status_code == 400
    assert app.test_client().post("/language", data={"locale": "en"}).status_code == 400


def test_language_switch_is_kept_on_the_user(app, world, signin):
    client = signin("reporter")
    assert "工单" in client.get("/incidents").get_data(as_text=True)
    assert client.post("/language", data={"locale": "en", "next": "/incidents"}).status_code == 303
    db.session.expire_all()
    assert world.users["reporter"].locale == "en"
    page = client.get("/incidents").get_data(as_text=True)
    assert "Tickets" in page and "<html lang=\"en\">" in page
    # Another device of the same user gets English too.
    assert "Tickets" in signin("reporter").get("/incidents").get_data(as_text=True)
    assert client.post("/language", data={"locale": "fr"}).status_code == 422


def user_rows() -> tuple[int, int, int]:
    return tuple(db.session.execute(select(func.count()).select_from(table)).scalar_one()
                 for table in (User, user_contract, AuditEntry))


@pytest.mark.parametrize("fields, named", [
    ({"role": "carrier_engineer", "contracts": ["XJGAT-POOL-2025"], "phone": "notaphone", "on_duty": True},
     "phone: 'notaphone' is not a phone number"),
    ({"role": "carrier_manager", "contracts": ["XJGAT-POOL-2025"], "phone": "13800000077; 13800000078"},
     "phone: '13800000077; 13800000078' is not a phone number"),
    ({"role": "carrier_engineer", "contracts": ["XJGAT-POOL-2025"], "phone": "09912345678", "on_duty": True},
     "phone: '09912345678' takes no SMS"),
    ({"role": "unit_manager", "unit": "QMGA", "contracts": ["XJGAT-POOL-2025"]},
     "contract: unit QMGA is served by QMGA-JWT-2025 alone, not XJGAT-POOL-2025"),
    ({"role": "unit_reporter", "unit": "XJGAT-KS", "contracts": ["XJGAT-POOL-2025", "QMGA-JWT-2025"]},
     "contract: unit XJGAT-KS is served by XJGAT-POOL-2025 alone, not QMGA-JWT-2025"),
])
def test_a_bad_phone_or_a_contract_beside_the_units_is_refused(app, world, signin, fields, named):
    """create-user took --phone notaphone for the engineer the new-ticket SMS go to, and gave
    QMGA's manager the scope of the XJGAT pool too. The CLI says `error:` naming the field and exits
    1, the admin form answers 422 with it, and neither writes a row."""
    admin = signin("admin")
    admin.post("/language", data={"locale": "en"})  # the message as the services write it; zh in test_refusals_i18n
    before = user_rows()
    args = ["create-user", "--username", "new.user", "--password", PASSWORD, "--role", fields["role"]]
    args += ["--unit", fields["unit"]] if "unit" in fields else []
    args += [arg for code in fields["contracts"] for arg in ("--contract", code)]
    args += ["--phone", fields["phone"]] if "phone" in fields else []
    args += ["--on-duty"] if fields.get("on_duty") else []
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.startswith("error: the user was not created") and named in result.output, result.output
    assert user_rows() == before
    response = admin.post("/admin/users", data={"username": "new.user", "password": PASSWORD, **fields})
    assert response.status_code == 422 and named in html.unescape(response.get_data(as_text=True))
    db.session.rollback()
    assert user_rows() == before


def test_a_unit_user_gets_the_units_contract_and_a_phone_is_kept_without_spaces(world):
    from desk.audit.services import Actor
    from desk.auth.services import create_user

    user = create_user(Actor.system("test"), username="ks.manager", password=PASSWORD, role="unit_manager",
                       unit_code="XJGAT-KS", phone=" +86 138-0000-0077 ")
    assert [c.code for c in user.contracts] == ["XJGAT-POOL-2025"] and user.phone == "+8613800000077"
    # Twilio sends to E.164: the other ways a mainland mobile is written are kept as +86….
    for written in ("13800000078", "0086 138 0000 0078"):
        other = create_user(Actor.system("test"), username=f"eng.{len(written)}", password=PASSWORD,
                            role="carrier_engineer", contract_codes=["XJGAT-POOL-2025"], phone=written)
        assert other.phone == "+8613800000078"
