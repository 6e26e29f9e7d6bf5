"""TWILIO_API_BASE_URL: the real SDK's requests sent to a Twilio-compatible gateway instead."""
import pytest
from twilio.rest import Client

from desk.outbox.gateway import GatewayHttpClient
from tests.clock.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioServer


@pytest.mark.parametrize("path", ["", "/", "/twilio", "/twilio/"])
def test_a_gateway_is_reached_at_its_path(path):
    """A gateway behind a path (https://gateway.example/twilio) lost it: every SMS was sent to the
    host's root and failed there with a 404."""
    with TwilioServer() as server:
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=GatewayHttpClient(server.url + path, timeout=5))
        message = client.messages.create(to="+8613800000001", from_=FROM, body="测试")
    assert message.sid and server.created[0]["body"] == "测试"
    assert server.paths == [f"{path.rstrip('/')}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"]


def test_a_base_url_that_is_not_http_is_refused():
    with pytest.raises(ValueError, match="TWILIO_API_BASE_URL"):
        GatewayHttpClient("gateway.example/twilio")
