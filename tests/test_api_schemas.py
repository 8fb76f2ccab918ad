"""Every request body our API transports send, validated against the provider's own published
schema (tests/fixtures/providers/schemas/, attributed in the README there): SendGrid's OpenAPI
document, botocore's SES v2 service model, Postmark's official .NET SDK request model and
Mailgun's documented messages.mime form fields.

The bodies are the ones the local stand-ins received (tests/api_servers.py), for a single message
and a Postmark batch, with tracking off (the default) and on (`[send] track_opens` /
`track_clicks`), with and without the correlation metadata. SendGrid's schema leaves objects open,
so a key the schema does not name is reported too; botocore's structures are closed, as boto3's
own parameter validation treats them. The stand-ins' answers to the pre-flight's SES look-ups are
checked against botocore's output shapes, so the pre-flight tests read what SES sends.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from api_samples import messages
from api_servers import SES_DESTINATIONS, SES_IDENTITY, ApiServer, Mailgun as MailgunStandIn
from webzine.models import Message
from webzine.providers.base import Tracking
from webzine.providers.mailgun import MailgunTransport
from webzine.providers.postmark import PostmarkTransport
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.ses import SesTransport
from webzine.providers.sigv4 import Credentials
from webzine.transports.http import build_client


def with_message_id(message: Message, message_id: str) -> Message:
    """The same message under another Message-ID (what the providers' metadata fields carry)."""
    return Message(key=message.key, mail_from=message.mail_from, rcpt_to=message.rcpt_to, message_id=message_id,
                   subject=message.subject, content=lambda: message.content, data=lambda: message.data,
                   needs_8bitmime=message.needs_8bitmime, needs_smtputf8=message.needs_smtputf8)

# One worker runs the module, so its four stand-in servers start once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("api_schemas")

SCHEMAS = Path(__file__).parent / "fixtures" / "providers" / "schemas"
TRACKING = [Tracking(), Tracking(opens=True, clicks=True), Tracking(opens=True)]
MAILGUN_OPTIONS_LIMIT = 16 * 1024  # Mailgun: o:, h: and v: options together


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def problems(validator_schema: dict[str, Any], instance: Any) -> list[str]:
    validator = Draft202012Validator(validator_schema)
    return [f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(instance)]


def undeclared(node: dict[str, Any], instance: Any, root: dict[str, Any], path: str = "") -> list[str]:
    """Keys of `instance` that an open schema never names (a typo would pass `properties` alone)."""
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    found: list[str] = []
    if isinstance(instance, dict) and "properties" in node:
        for key, value in instance.items():
            if key in node["properties"]:
                found += undeclared(node["properties"][key], value, root, f"{path}/{key}")
            elif "additionalProperties" not in node:
                found.append(f"{path}/{key}")
    if isinstance(instance, list) and isinstance(node.get("items"), dict):
        for index, value in enumerate(instance):
            found += undeclared(node["items"], value, root, f"{path}/{index}")
    return found


def botocore_schema(model: dict[str, Any], shape: str) -> dict[str, Any]:
    """A botocore shape as JSON Schema for its rest-json body: structures closed, `required`,
    enums, lengths and list sizes kept; a blob is base64 text."""
    shapes = model["shapes"]

    def convert(name: str) -> dict[str, Any]:
        spec = shapes[name]
        kind = spec["type"]
        if kind == "structure":
            members = {member: {"$ref": f"#/$defs/{ref['shape']}"} for member, ref in spec["members"].items()
                       if "location" not in ref}
            return {"type": "object", "properties": members, "required": spec.get("required", []),
                    "additionalProperties": False}
        if kind == "list":
            out: dict[str, Any] = {"type": "array", "items": {"$ref": f"#/$defs/{spec['member']['shape']}"}}
            out |= {"minItems": spec["min"]} if "min" in spec else {}
            return out | ({"maxItems": spec["max"]} if "max" in spec else {})
        if kind == "map":
            return {"type": "object", "additionalProperties": {"$ref": f"#/$defs/{spec['value']['shape']}"}}
        if kind == "string":
            out = {"type": "string"}
            out |= {"enum": spec["enum"]} if "enum" in spec else {}
            out |= {"minLength": spec["min"]} if "min" in spec else {}
            return out | ({"maxLength": spec["max"]} if "max" in spec else {})
        if kind == "blob":
            return {"type": "string", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"}
        if kind == "boolean":
            return {"type": "boolean"}
        if kind in ("integer", "long"):
            return {"type": "integer"}
        if kind == "timestamp":
            return {"type": ["number", "string"]}
        raise AssertionError(f"botocore shape type {kind} of {name} is not handled")

    return {"$ref": f"#/$defs/{shape}", "$defs": {name: convert(name) for name in shapes}}


def with_our_message_id(message: Message, index: int) -> Message:
    """The Message-ID as `webzine.message.factory` writes it: it names the issue, so the
    correlation carries `webzine_issue` too."""
    return with_message_id(message, f"2026-12-year-end.{index:032x}@news.example.co.kr")


def sample(correlated: bool) -> list[Message]:
    found = messages(3)
    return [with_our_message_id(m, i) for i, m in enumerate(found)] if correlated else found


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ApiServer]]:
    started: dict[str, ApiServer] = {}
    try:
        for name in ("sendgrid", "postmark", "mailgun", "ses"):
            started[name] = ApiServer(name)
        yield started
    finally:
        for server in started.values():
            server.stop()


def bodies(server: ApiServer, path: str) -> list[str]:
    return [r["body"] for r in server.received()["requests"] if r["method"] == "POST" and r["path"] == path]


@pytest.mark.parametrize("tracking", TRACKING, ids=str)
@pytest.mark.parametrize("correlated", [False, True], ids=["plain-id", "our-id"])
def test_sendgrid_mail_send_bodies_match_sendgrids_openapi(servers, tracking: Tracking, correlated: bool) -> None:
    server = servers["sendgrid"]
    server.configure()
    transport = SendGridTransport(build_client(server.url, timeout=5, connections=1), api_key="test-token",
                                  tracking=tracking)
    for message in sample(correlated):
        transport.send(message)
    mail_send = schema("sendgrid-mail-send.schema.json")
    sent = [json.loads(body) for body in bodies(server, "/v3/mail/send")]
    assert len(sent) == 3
    for body in sent:
        assert problems(mail_send, body) == []
        assert undeclared(mail_send, body, mail_send) == []
        assert body["tracking_settings"]["click_tracking"]["enable"] is tracking.clicks
        assert body["tracking_settings"]["open_tracking"]["enable"] is tracking.opens
        assert body["tracking_settings"]["subscription_tracking"]["enable"] is False
        assert ("webzine_issue" in body["personalizations"][0]["custom_args"]) is correlated


def test_the_sendgrid_check_finds_what_the_schema_refuses() -> None:
    """The two checks above do refuse: a wrong type, a missing field, a misspelt key."""
    mail_send = schema("sendgrid-mail-send.schema.json")
    body = {"personalizations": [{"to": [{"email": "kim@example.com"}]}], "from": {"email": "news@example.co.kr"},
            "tracking_settings": {"click_tracking": {"enable": "no"}}, "custom_arg": {}}
    assert problems(mail_send, body) == ["tracking_settings/click_tracking/enable: 'no' is not of type 'boolean'"]
    assert undeclared(mail_send, body, mail_send) == ["/custom_arg"]
    assert problems(mail_send, {"personalizations": []}) == ["(body): 'from' is a required property"]


@pytest.mark.parametrize("tracking", TRACKING, ids=str)
@pytest.mark.parametrize("batch", [False, True], ids=["email", "batch"])
def test_postmark_bodies_match_the_official_sdk_model(servers, tracking: Tracking, batch: bool) -> None:
    server = servers["postmark"]
    server.configure()
    transport = PostmarkTransport(build_client(server.url, timeout=5, connections=1), token="test-token",
                                  batch=batch, tracking=tracking)
    correlated = sample(True)
    long_id = with_message_id(messages(1, start=3)[0], "x" * 90 + "@news.example.co.kr")  # over 80: no Metadata
    transport.send_batch([*correlated, long_id])
    email = schema("postmark-email.schema.json")
    if batch:
        (posted,) = bodies(server, "/email/batch")
        sent = json.loads(posted)
        assert isinstance(sent, list) and len(sent) <= 500
    else:
        sent = [json.loads(body) for body in bodies(server, "/email")]
    assert len(sent) == 4
    for body in sent:
        assert problems(email, body) == []
        assert body["TrackOpens"] is tracking.opens
        assert body["TrackLinks"] == ("HtmlAndText" if tracking.clicks else "None")
    assert [("Metadata" in body) for body in sent] == [True, True, True, False]
    assert sent[0]["Metadata"]["webzine_issue"] == "2026-12-year-end"


def test_the_postmark_model_refuses_what_the_sdk_cannot_send() -> None:
    email = schema("postmark-email.schema.json")
    body = {"From": "news@example.co.kr", "To": "kim@example.com", "TextBody": "x", "TrackLinks": False,
            "Metadata": {"webzine-message-id": "m" * 81}, "Header": []}
    assert sorted(problems(email, body)) == [
        "(body): Additional properties are not allowed ('Header' was unexpected)",
        "Metadata/webzine-message-id: " + repr("m" * 81) + " is too long",
        "TrackLinks: False is not one of ['None', 'HtmlAndText', 'HtmlOnly', 'TextOnly']",
    ]


@pytest.mark.parametrize("tracking", TRACKING, ids=str)
@pytest.mark.parametrize("correlated", [False, True], ids=["plain-id", "our-id"])
def test_mailgun_form_fields_are_the_documented_ones(servers, tracking: Tracking, correlated: bool) -> None:
    server = servers["mailgun"]
    server.configure()
    transport = MailgunTransport(build_client(server.url, timeout=5, connections=1), api_key="test-token",
                                 domain="mg.example.co.kr", tracking=tracking)
    for message in sample(correlated):
        transport.send(message)
    form = schema("mailgun-messages-mime.schema.json")
    requests = [r for r in server.received()["requests"] if r["path"].endswith("/messages.mime")]
    assert len(requests) == 3
    yes_no = {True: "yes", False: "no"}
    for request in requests:
        raw = MailgunStandIn.form(request["headers"]["Content-Type"], request["body"].encode("utf-8"))
        fields = {name: value.decode("utf-8") for name, value in raw.items()}
        assert problems(form, fields) == []
        options = sum(len(name) + len(value) for name, value in fields.items() if name[:2] in ("o:", "h:", "v:"))
        assert options < MAILGUN_OPTIONS_LIMIT
        assert fields["o:tracking-clicks"] == yes_no[tracking.clicks]
        assert fields["o:tracking-opens"] == yes_no[tracking.opens]
        assert fields["o:tracking"] == yes_no[tracking.clicks or tracking.opens]
        assert ("v:webzine_issue" in fields) is correlated


def test_the_mailgun_fields_refuse_a_misspelt_option_and_an_undocumented_value() -> None:
    form = schema("mailgun-messages-mime.schema.json")
    found = sorted(problems(form, {"to": "kim@example.com", "message": "x", "o:tracking": "off", "o:trackingclicks": "no"}))
    assert len(found) == 2
    assert "'o:trackingclicks' does not match any of the regexes" in found[0] and found[1] == "o:tracking: 'off' is not one of ['yes', 'no']"


@pytest.mark.parametrize("configuration_set", ["", "newsletter"], ids=["no-set", "configuration-set"])
@pytest.mark.parametrize("correlated", [False, True], ids=["plain-id", "our-id"])
def test_ses_send_email_bodies_match_botocores_model(servers, configuration_set: str, correlated: bool) -> None:
    server = servers["ses"]
    server.configure()
    credentials = Credentials(access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    transport = SesTransport(build_client(server.url, timeout=5, connections=1), credentials=credentials,
                             region="ap-northeast-2", configuration_set=configuration_set)
    outgoing = sample(correlated)
    for message in outgoing:
        transport.send(message)
    model = schema("ses-v2-botocore.json")
    assert model["operations"]["SendEmail"]["http"] == {"method": "POST", "requestUri": "/v2/email/outbound-emails"}
    send_email = botocore_schema(model, model["operations"]["SendEmail"]["input"]["shape"])
    sent = [json.loads(body) for body in bodies(server, "/v2/email/outbound-emails")]
    assert len(sent) == 3
    for body, message in zip(sent, outgoing):
        assert problems(send_email, body) == []
        assert base64.b64decode(body["Content"]["Raw"]["Data"], validate=True) == message.data
        assert body.get("ConfigurationSetName", "") == configuration_set
        assert ("EmailTags" in body) is correlated
    wrong = {"Content": {"Raw": {"Data": "not base64!"}}, "Destination": {"ToAddresses": "kim@example.com"},
             "EmailTag": []}
    assert sorted(problems(send_email, wrong)) == [
        "(body): Additional properties are not allowed ('EmailTag' was unexpected)",
        "Content/Raw/Data: 'not base64!' does not match '^[A-Za-z0-9+/]*={0,2}$'",
        "Destination/ToAddresses: 'kim@example.com' is not of type 'array'",
    ]


def test_the_ses_stand_in_answers_the_pre_flight_in_botocores_output_shapes() -> None:
    """The SES answers the pre-flight tests feed (tests/test_api_preflight.py) are shaped as
    botocore's GetEmailIdentity and GetConfigurationSetEventDestinations outputs."""
    model = schema("ses-v2-botocore.json")
    identity = botocore_schema(model, model["operations"]["GetEmailIdentity"]["output"]["shape"])
    destinations = botocore_schema(model, model["operations"]["GetConfigurationSetEventDestinations"]["output"]["shape"])
    assert problems(identity, SES_IDENTITY) == []
    assert problems(destinations, {"EventDestinations": SES_DESTINATIONS}) == []
