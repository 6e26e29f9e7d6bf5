"""Both sides see the clock's events where they work: on the ticket page and the contract dashboard."""
from desk.clock.tick import tick
from desk.models import utcnow
from tests.clock.conftest import hours_ago


def sign_in(client, name):
    assert client.post("/login", data={"username": name, "password": "secret-pass-1"}).status_code == 302


def test_ticket_page_shows_recorded_and_coming_events(world, client):
    incident = world.file("XJGAT", hours_ago(3.5))  # the 60-minute warning is due, the rest to come
    tick(utcnow())
    sign_in(client, "um")
    page = client.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert 'id="clock-events"' in page
    assert "修复时限预警" in page and "超过修复时限" in page and "未到" in page
    assert "违约" in page and "违约金: 6394.00" in page


def test_dashboard_lists_the_contracts_clock(world, client):
    incident = world.file("XJGAT", hours_ago(5))
    tick(utcnow())
    sign_in(client, "cm")
    page = client.get("/contracts/XJGAT-POOL-2025").get_data(as_text=True)
    section = page[page.index('id="clock-events"'):]
    assert "超过修复时限" in section and f"/incidents/{incident.id}" in section
    assert "产生解约权" not in section  # one strike only
    world.users["cm"].locale = "en"
    from desk.extensions import db

    db.session.commit()
    english = client.get("/contracts/XJGAT-POOL-2025").get_data(as_text=True)
    assert "Repair deadline missed" in english and "Coming up" in english
