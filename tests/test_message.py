from __future__ import annotations

import base64
import email
import email.header
import email.policy
import re

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import sendkit
from webzine.message import encoding as mime
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.render.slots import manager_fields, recipient_context
from webzine.message.factory import (
    FactoryOptions,
    MessageFactory,
    RecipientRejected,
    list_id,
    message_id,
)
from webzine.tokens import verify_unsubscribe_token, verp_token, verp_token_from

SINGLE = (
    "From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Id", "List-Unsubscribe",
    "List-Unsubscribe-Post", "Feedback-ID", "MIME-Version", "Content-Type",
)  # fmt: skip


def factory(rendered=None, settings: Settings | None = None, **options) -> MessageFactory:
    return MessageFactory(
        rendered or sendkit.rendered(),
        settings or sendkit.settings(),
        token_key=sendkit.SECRET,
        managers=sendkit.MANAGERS,
        options=FactoryOptions(**options),
    )


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.strict)


def display_name(data: bytes) -> str:
    """The To display name as RFC 2047 §6.2 defines it. Python's new header parser inserts a
    space between adjacent encoded words inside a phrase (the RFC says to drop that whitespace),
    so encoded names are decoded with `email.header`, which follows the RFC."""
    raw = email.message_from_bytes(data, policy=email.policy.compat32)["To"]
    if "=?" not in raw:
        return parse(data)["To"].addresses[0].display_name
    phrase = raw.rsplit("<", 1)[0].rstrip(" \t\r\n")  # the separator before <addr>
    return str(email.header.make_header(email.header.decode_header(phrase)))


def expected(rendered, recipient, f: MessageFactory) -> tuple[str, str, str]:
    manager = sendkit.MANAGERS.get(recipient.manager)
    context = recipient_context(
        recipient.merge_fields(),
        manager_fields(manager) if manager else None,
        f.unsubscribe_url(recipient.email),
    )
    return (
        rendered.subject.render(context),
        rendered.text.render(context),
        rendered.html.render(context),
    )


def assert_wire_safe(data: bytes) -> None:
    """CRLF only, no line over 998 octets; header lines over 78 only for one unbreakable token
    (a long unsubscribe URL)."""
    assert b"\r\n\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert len(line) <= 78 or len(line.split(b": ", 1)[-1].strip().split(b" ")) == 1, line


def test_message_parses_back_to_the_same_subject_recipient_and_bodies() -> None:
    rendered = sendkit.rendered(paragraphs=60)
    f = factory(rendered)
    people = [sendkit.recipient(n) for n in range(6)] + [sendkit.recipient(n, manager="m2") for n in (6, 7)]
    for recipient in people + people[:3]:  # again: slots cached per manager must not leak between people
        message = f.build(recipient)
        parsed = parse(message.data)
        subject, text, html = expected(rendered, recipient, f)
        assert str(parsed["Subject"]) == subject
        assert display_name(message.data) == recipient.name
        assert parsed["To"].addresses[0].addr_spec == recipient.email
        assert parsed.get_content_type() == "multipart/alternative"
        plain, rich = parsed.iter_parts()
        assert plain.get_content_type() == "text/plain" and rich.get_content_type() == "text/html"
        assert plain["Content-Transfer-Encoding"] == "base64"
        assert plain.get_content() == text
        assert rich.get_content() == html
        for name in SINGLE:
            assert len(parsed.get_all(name)) == 1, name
        assert_wire_safe(message.data)
        assert not message.needs_8bitmime and message.data.isascii()


def test_identity_headers_and_envelope() -> None:
    f = factory()
    recipient = sendkit.recipient(1)
    message = f.build(recipient)
    parsed = parse(message.data)
    assert parsed["From"].addresses[0].display_name == "초록상회"
    assert parsed["Reply-To"].addresses[0].addr_spec == "park@example.co.kr"  # the manager's
    other = parse(f.build(sendkit.recipient(2)).data)
    assert other["Reply-To"].addresses[0].addr_spec == "hello@example.co.kr"  # the publication's
    assert str(parsed["List-Id"]) == "초록상회 소식지 <example.co.kr>"
    assert str(parsed["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", str(parsed["List-Unsubscribe"]))
    assert mailto == "mailto:unsubscribe@example.co.kr?subject=unsubscribe"
    assert https.startswith("https://news.example.co.kr/u/")
    assert recipient.email not in https and "user1" not in https
    token = https.rsplit("/", 1)[1]
    assert verify_unsubscribe_token(sendkit.SECRET, "example.co.kr", recipient.email, token)
    assert verp_token_from(message.mail_from) == verp_token(sendkit.SECRET, f.issue, recipient.email)
    assert message.mail_from.startswith("bounces+") and message.mail_from.endswith("@example.co.kr")
    assert str(parsed["Message-ID"]) == f"<{message.message_id}>"
    assert parsed["Date"].datetime.utcoffset().total_seconds() == 9 * 3600
    assert list_id(sendkit.settings().publication) == "example.co.kr"


def test_message_ids_are_deterministic_per_issue_and_recipient() -> None:
    a = factory().build(sendkit.recipient(1))
    b = factory().build(sendkit.recipient(1))
    c = factory().build(sendkit.recipient(2))
    d = factory(sendkit.rendered(slug="2027-01-new-year")).build(sendkit.recipient(1))
    assert a.message_id == b.message_id
    assert len({a.message_id, c.message_id, d.message_id}) == 3
    assert a.message_id.startswith("2026-12-year-end.") and "user1" not in a.message_id
    assert a.mail_from == b.mail_from != d.mail_from
    assert message_id(sendkit.SECRET, "x y", "k", "d.kr").startswith("wz.")


def test_test_sends_are_marked_and_keep_out_of_the_real_identifiers() -> None:
    real = factory().build(sendkit.recipient(3))
    test = factory(subject_prefix="[TEST] ", test=True).build(
        sendkit.recipient(3), rcpt_to="editor@example.co.kr"
    )
    parsed = parse(test.data)
    assert str(parsed["Subject"]).startswith("[TEST] 김고객3 님께")
    assert str(parsed["To"]) == "editor@example.co.kr"
    assert test.rcpt_to == "editor@example.co.kr"
    assert test.message_id != real.message_id
    assert test.mail_from == "bounces@example.co.kr"


def test_long_korean_subject_is_split_into_short_words_of_whole_characters() -> None:
    subject = "가나다라마바사아자차카타파하" * 12 + " 🎉 끝"
    line = mime.text_header("Subject", subject)
    assert email.message_from_bytes(line + b"\r\n", policy=email.policy.strict)["Subject"] == subject
    words = re.findall(rb"=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=", line)
    assert len(words) > 3
    for word in words:
        assert len(word) + 12 <= 75
        base64.b64decode(word).decode("utf-8")  # whole characters: decodes on its own
    assert all(len(raw) <= 78 for raw in line.split(b"\r\n"))


def test_plain_ascii_stays_readable_and_encoded_lookalikes_do_not_decode() -> None:
    assert mime.text_header("Subject", "Hello world") == b"Subject: Hello world\r\n"
    sneaky = "=?UTF-8?B?7JWI64WV?= not a word"
    parsed = email.message_from_bytes(mime.text_header("Subject", sneaky) + b"\r\n", policy=email.policy.strict)
    assert parsed["Subject"] == sneaky


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "김\r\nBcc: victim@example.com"),
        ("name", "이\x00름"),
        ("name", "tab\there"),
        ("name", "line\u2028separator"),
        ("email", "a\r\nb@example.com"),
        ("email", "a b@example.com"),
        ("email", "no-at-sign"),
    ],
)
def test_control_characters_and_unwritable_addresses_reject_the_recipient(field: str, value: str) -> None:
    with pytest.raises(RecipientRejected) as caught:
        factory().build(sendkit.recipient(1, **{field: value}))
    assert caught.value.reason


def test_a_hostile_custom_column_in_the_subject_rejects_the_recipient() -> None:
    rendered = sendkit.rendered(subject="{{ recipient.company_code }} 소식")
    hostile = sendkit.recipient(1, fields={"company_code": "A\r\nX-Injected: yes"})
    with pytest.raises(RecipientRejected, match="Subject contains the control character U\\+000D"):
        factory(rendered).build(hostile)


def test_broken_manager_data_rejects_only_that_managers_recipients() -> None:
    managers = {"m1": sendkit.MANAGERS["m1"].__class__(id="m1", name="박\n영업", email="p@example.co.kr")}
    f = MessageFactory(sendkit.rendered(), sendkit.settings(), token_key=sendkit.SECRET, managers=managers)
    with pytest.raises(RecipientRejected, match="account manager m1"):
        f.build(sendkit.recipient(1))
    assert f.build(sendkit.recipient(2)).data


def test_bad_sender_in_settings_is_a_config_error() -> None:
    base = sendkit.settings()
    broken = base.model_copy(update={"publication": base.publication.model_copy(update={"sender": "nobody"})})
    with pytest.raises(ConfigError, match="sender 'nobody' has no address"):
        factory(settings=broken)


def test_internationalised_address_asks_for_smtputf8() -> None:
    message = factory().build(sendkit.recipient(1, email="고객@example.com"))
    assert message.needs_smtputf8
    assert "고객@example.com".encode() in message.data


def test_base64_body_matches_plain_encoding_for_every_carry() -> None:
    """Pre-encoded segments joined at 0, 1 and 2 leftover bytes decode to the rendered text."""
    f = factory(sendkit.rendered(paragraphs=5))
    for name in ("", "가", "가a", "ab", "가나", "x" * 7):
        recipient = sendkit.recipient(1, name=name or "n", adjective=name)
        plain, rich = parse(f.build(recipient).data).iter_parts()
        assert plain.get_content().startswith(f"{name or 'n'} 님, 안녕하세요.")
        assert rich.get_content().count(name) >= 1


pieces = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(["\r", "\n", "\r\n", "\x00", "=?", "?=", "=?UTF-8?B?", "가", '"', "\\", "<", ">", ",", " "]),
)
names = st.one_of(
    st.lists(pieces, max_size=60).map("".join),
    st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=100, max_size=600),
)


@pytest.mark.slow
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, company=names, subject=names)
def test_hostile_data_never_injects_a_header_or_a_long_line(name: str, company: str, subject: str) -> None:
    rendered = sendkit.rendered(subject="{{ recipient.company }} {{ recipient.subject_text }}", paragraphs=1)
    recipient = sendkit.recipient(1, name=name, company=company, fields={"subject_text": subject})
    f = factory(rendered)
    try:
        message = f.build(recipient)
    except RecipientRejected as rejected:
        assert rejected.reason
        return
    assert_wire_safe(message.data)
    parsed = parse(message.data)
    for header in SINGLE:
        assert len(parsed.get_all(header)) == 1
    assert len(parsed.keys()) == len(SINGLE)
    assert str(parsed["Subject"]) == f"{company} {subject}"
    assert display_name(message.data) == name


@given(st.binary(max_size=400))
def test_base64_lines_are_standard_base64_in_short_crlf_lines(data: bytes) -> None:
    encoded = mime.base64_lines(data)
    assert encoded.endswith(b"\r\n")
    lines = encoded[:-2].split(b"\r\n")
    assert all(len(line) == 76 for line in lines[:-1]) and len(lines[-1]) <= 76
    assert base64.b64decode(b"".join(lines)) == data


segments = st.lists(
    st.one_of(
        st.text(max_size=3).map(lambda s: ("static", s)),
        st.text(min_size=60, max_size=300).map(lambda s: ("static", s)),
        st.sampled_from(["{{ recipient.a }}", "{{ recipient.b }}", "{% if recipient.a %}[{{ recipient.b }}]{% endif %}"]).map(
            lambda s: ("slot", s)
        ),
    ),
    max_size=12,
)


@pytest.mark.slow
@hsettings(max_examples=200, deadline=None)
@given(parts=segments, a=st.text(max_size=80), b=st.text(max_size=3))
def test_base64_body_decodes_to_the_rendered_template(parts: list[tuple[str, str]], a: str, b: str) -> None:
    """Any mix of short and pre-encoded static text, adjacent slots and repeated slots."""
    from webzine.render.slots import Personaliser, compile_merge

    source = "".join(text.replace("{", "(").replace("}", ")") if kind == "static" else text for kind, text in parts)
    template = compile_merge(source, sendkit.TEXT_ENV, origin="t")
    plan = Personaliser((template,))
    context = {"recipient": {"a": a, "b": b}}
    values = [text.encode("utf-8") for text in plan.fill(context, "")]
    out: list[bytes] = []
    mime.Base64Body(template, plan.number).encode_into(values, out)
    encoded = b"".join(out)
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert base64.b64decode(encoded.replace(b"\r\n", b"")).decode("utf-8") == template.render(context)


@pytest.mark.parametrize("mailto", ["", "unsub@example.co.kr"])
@pytest.mark.parametrize("base", ["https://n.kr/u", "https://news.example.co.kr/" + "x" * 30 + "/u", "https://n.kr/" + "y" * 90])
def test_list_unsubscribe_around_the_token_folds_like_the_whole_line(base: str, mailto: str) -> None:
    """The line is cut around the token once per send; it must equal folding the whole line."""
    base_settings = sendkit.settings()
    unsubscribe = base_settings.unsubscribe.model_copy(update={"base_url": base, "mailto": mailto})
    f = factory(settings=base_settings.model_copy(update={"unsubscribe": unsubscribe}))
    for n in range(3):
        recipient = sendkit.recipient(n)
        url = f.unsubscribe_url(recipient.email)
        token = url.rpartition("/")[2]
        assert f._list_unsubscribe_line(url, token) == f._list_unsubscribe(url)
        assert f._list_unsubscribe(url) in f.build(recipient).data


def _twin_environments() -> tuple:
    from markupsafe import Markup

    import jinja2

    def bold(value: object) -> Markup:
        return Markup("<b>%s</b>") % value

    def shout(value: object, end: str = "!") -> str:
        return str(value).upper() + end

    environments = []
    for html in (False, True):
        environment = jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined)
        environment.filters.update(shout=shout, bold=bold)
        environments.append(environment)
    return tuple(environments)


TWIN_TEXT_ENV, TWIN_HTML_ENV = _twin_environments()
TWIN_SOURCES = [
    "{{ recipient.name }}", "{{ recipient.name|shout }}", "{{ recipient.name|shout(end='?') }}",
    "{{ recipient.name|bold }}", "{{ recipient|bold }}", "{{ unsubscribe_url }}",
    "{{ recipient.name|replace('a', 'b') }}", "{{ recipient.name ~ '!' }}", "{{ recipient['name'] }}",
    "{% if recipient.name %}<{{ recipient.name }}>{% endif %}",
]  # fmt: skip


@pytest.mark.slow
@hsettings(max_examples=150, deadline=None)
@given(name=st.text(max_size=20), order=st.permutations(TWIN_SOURCES))
def test_slots_filled_together_render_as_jinja_does(name: str, order: list[str]) -> None:
    """The same slots in the text and the HTML body, filled in one pass per body, give exactly
    what Jinja renders for each slot on its own."""
    from webzine.render.slots import Personaliser, compile_merge

    source = " | ".join(order)
    text = compile_merge(source, TWIN_TEXT_ENV, origin="t.txt")
    html = compile_merge(source, TWIN_HTML_ENV, origin="t.html")
    plan = Personaliser((text, html))
    context = {"recipient": {"name": name}, "unsubscribe_url": "https://n.kr/u/<t>&x"}
    expected = [slot.template.render(context) for slot in plan.slots]
    assert plan.fill(context, "") == expected
    assert plan.render(html, plan.fill(context)) == html.render(context)


def test_an_undefined_field_in_a_shared_slot_names_the_first_slot() -> None:
    from webzine.errors import TemplateError
    from webzine.render.slots import Personaliser, compile_merge

    text = compile_merge("a {{ recipient.nope|shout }}", TWIN_TEXT_ENV, origin="t.txt")
    html = compile_merge("b {{ recipient.nope|shout }}", TWIN_HTML_ENV, origin="t.html")
    plan = Personaliser((html, text))
    with pytest.raises(TemplateError, match=r"^t\.html:1: 'dict object' has no attribute 'nope'"):
        plan.fill({"recipient": {}}, "")
    plan = Personaliser((text, html))
    with pytest.raises(TemplateError, match=r"^t\.txt:1: 'dict object' has no attribute 'nope'"):
        plan.fill({"recipient": {}}, "")


def test_each_environment_fills_with_its_own_filters() -> None:
    import jinja2

    from webzine.render.slots import Personaliser, compile_merge

    environments = [jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined) for html in (False, True)]
    environments[0].filters["shout"] = lambda value: str(value).upper()
    environments[1].filters["shout"] = lambda value: str(value).lower()  # same name, another filter
    plan = Personaliser(tuple(compile_merge("{{ recipient.name|shout }}", e, origin="t") for e in environments))
    assert plan.fill({"recipient": {"name": "Kim"}}) == ["KIM", "kim"]
