"""`webzine check` as a user runs it: a publication whose domain is set up right passes, and each
way a real one goes wrong fails with its own one-line reason — online against a real DNS server on
127.0.0.1 (tests/dnskit.py, the one the MX tests use), offline from webzine.toml alone."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from api_servers import ApiServer
from clikit import ISSUE, Run, copy_sample, new_dkim_key, run, run_here, set_send
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dnskit import DnsServer, running, txt

pytestmark = pytest.mark.slow  # webzine check and send, most in subprocesses, with DNS servers

DOMAIN = "chorok-tea.kr"  # not a reserved name: the server on 127.0.0.1 answers for it
SMTP_ADDRESS = "203.0.113.25"

CONFIG = f"""
[publication]
name = "초록상회 소식지"
sender = "초록상회 <news@{DOMAIN}>"
reply_to = "hello@{DOMAIN}"
email = "hello@{DOMAIN}"
postal_address = "서울특별시 종로구 율곡로 12, 초록빌딩 3층"
phone = "02-734-1212"
base_url = "https://news.{DOMAIN}"
language = "ko"

[send]
transport = "smtp"
return_path = "bounces@{DOMAIN}"

[smtp]
host = "smtp.{DOMAIN}"

[dkim]
domain = "{DOMAIN}"
selector = "news2026"

[unsubscribe]
base_url = "https://news.{DOMAIN}/u"
mailto = "unsubscribe@{DOMAIN}"
"""


@pytest.fixture(scope="module")
def dkim_key() -> str:
    return new_dkim_key()


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_text(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def good_zone(dkim_pem: str) -> dict[tuple[str, str], list[str]]:
    """Everything right: SPF through an include chain, the DKIM key, DMARC, MX for the bounces."""
    return {
        (f"{DOMAIN}.", "TXT"): [txt(f"v=spf1 include:_spf.{DOMAIN} ~all")],
        (f"_spf.{DOMAIN}.", "TXT"): [txt("v=spf1 ip4:203.0.113.0/24 -all")],
        (f"smtp.{DOMAIN}.", "A"): [SMTP_ADDRESS],
        (f"news2026._domainkey.{DOMAIN}.", "TXT"): [txt(f"v=DKIM1; k=rsa; p={public_key_text(dkim_pem)}")],
        (f"_dmarc.{DOMAIN}.", "TXT"): [txt(f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{DOMAIN}")],
        (f"{DOMAIN}.", "MX"): [f"10 mx.{DOMAIN}."],
    }


def project(folder: Path, **replace: str) -> Path:
    config = CONFIG
    for old, new in replace.items():
        config = config.replace(old, new)
    (folder / "webzine.toml").write_text(config, encoding="utf-8")
    return folder


@pytest.fixture
def serve(dkim_key) -> Iterator[Callable[..., DnsServer]]:
    """Starts the good zone, first changed by `change` if given; every server is stopped at the end."""
    with ExitStack() as stack:
        def start(change: Callable[[dict], object] = lambda zone: None) -> DnsServer:
            zone = good_zone(dkim_key)
            change(zone)
            return stack.enter_context(running(DnsServer(zone)))

        yield start


def check(folder: Path, *args: str, dkim: str, server: DnsServer | None = None, runner: Run = run):
    online = ["--dns", "--resolver", f"127.0.0.1:{server.port}"] if server else []
    return runner(folder, "check", *online, *args, dkim=dkim)


@pytest.fixture
def check_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`check` in this process, for the tests of which line each problem gives: ten fewer Python
    start-ups (each exit code, 0 to 3, is also seen on a real process in the other tests)."""
    here = run_here(monkeypatch, capsys)
    return lambda folder, *args, dkim, server=None: check(folder, *args, dkim=dkim, server=server, runner=here)


def failing_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("✗ ")]


def test_a_domain_with_everything_right_passes(tmp_path, serve, dkim_key):
    dns_server = serve()
    result = check(project(tmp_path), dkim=dkim_key, server=dns_server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert failing_lines(result.stdout) == []
    assert "✓ SPF: chorok-tea.kr의 SPF 레코드가 있고 발송 서버를 허용합니다(DNS 조회 1/10번)." in result.stdout
    assert "✓ DMARC: _dmarc.chorok-tea.kr에 DMARC 레코드가 있습니다(정책 p=quarantine)." in result.stdout
    assert "✓ DKIM 레코드: news2026._domainkey.chorok-tea.kr의 공개 키가 webzine이 서명하는 개인 키와 짝이 맞습니다." \
        in result.stdout
    assert result.stdout.rstrip().endswith("모든 점검을 통과했습니다.")
    english = check(project(tmp_path), "--lang", "en", "--json", dkim=dkim_key, server=dns_server)
    report = json.loads(english.stdout)
    assert english.returncode == 0 and report["exit_code"] == 0
    checklist = {row["requirement"]: row["status"] for row in report["checklist"]}
    assert checklist["SPF record covering the sending server"] == "pass"
    assert checklist["DMARC record (p=none is enough)"] == "pass"
    assert checklist["spam complaints under 0.3% (aim for 0.1%)"] is None  # a person looks at Postmaster Tools


def test_the_checklist_table_marks_each_requirement(tmp_path, serve, dkim_key):
    dns_server = serve()
    result = check(project(tmp_path), "--lang", "en", dkim=dkim_key, server=dns_server)
    table = result.stdout.split("Bulk-sender requirements", 1)[1]
    assert "DKIM signature with a published key" in table and "✓" in table and "check by hand" in table


def _eleven_includes(zone: dict) -> None:
    names = [f"s{n}.{DOMAIN}" for n in range(11)]
    zone[(f"{DOMAIN}.", "TXT")] = [txt("v=spf1 ip4:203.0.113.0/24 " + " ".join(f"include:{n}" for n in names) + " -all")]
    zone.update({(f"{name}.", "TXT"): [txt("v=spf1 ip4:192.0.2.1 -all")] for name in names})


def _another_dkim_key(zone: dict) -> None:
    """DNS publishes a key other than the one webzine signs with."""
    zone[(f"news2026._domainkey.{DOMAIN}.", "TXT")] = [txt(f"v=DKIM1; k=rsa; p={public_key_text(new_dkim_key())}")]


DNS_PROBLEMS = [
    pytest.param(lambda zone: zone.pop((f"{DOMAIN}.", "TXT")),
                 "✗ SPF: chorok-tea.kr has no SPF record; publish a TXT record \"v=spf1 … -all\" naming your mail "
                 "server or provider.", id="missing SPF"),
    pytest.param(lambda zone: zone.update({(f"smtp.{DOMAIN}.", "A"): ["198.51.100.7"]}),
                 "✗ SPF: the SPF record of chorok-tea.kr does not authorise the SMTP host smtp.chorok-tea.kr "
                 "(198.51.100.7); add ip4:/ip6: for it or the include your mail provider documents.",
                 id="SPF not covering the host"),
    pytest.param(_eleven_includes,
                 "✗ SPF: the SPF record of chorok-tea.kr needs 11 DNS lookups; receivers stop at 10 and fail SPF — "
                 "remove includes you no longer use or replace them with ip4:/ip6: ranges.", id="SPF over 10 lookups"),
    pytest.param(_another_dkim_key,
                 "✗ DKIM record: news2026._domainkey.chorok-tea.kr publishes a different public key than the private "
                 "key webzine signs with: every signature fails; publish the matching key or sign with the published "
                 "one.", id="DKIM key mismatch"),
    pytest.param(lambda zone: zone.pop((f"_dmarc.{DOMAIN}.", "TXT")),
                 "✗ DMARC: chorok-tea.kr has no DMARC record; publish _dmarc.chorok-tea.kr TXT \"v=DMARC1; p=none; "
                 "rua=mailto:…\" (Gmail, Yahoo and Naver require one for bulk mail).", id="no DMARC"),
    pytest.param(lambda zone: zone.pop((f"{DOMAIN}.", "MX")),
                 "✗ Return-Path domain: the Return-Path domain chorok-tea.kr has no MX or address record: bounces "
                 "cannot come back and some receivers refuse the mail; add an MX record.", id="no MX for bounces"),
]


@pytest.mark.parametrize(("change", "line"), DNS_PROBLEMS)
def test_each_dns_problem_fails_with_its_own_line(tmp_path, serve, dkim_key, change, line, check_here):
    result = check_here(project(tmp_path), "--lang", "en", dkim=dkim_key, server=serve(change))
    assert result.returncode == 1
    assert failing_lines(result.stdout) == [line]


CONFIG_PROBLEMS = [
    pytest.param({f"bounces@{DOMAIN}": "bounces@mailer-bounces.net"},
                 "✗ Return-Path alignment: Return-Path mailer-bounces.net does not align with From chorok-tea.kr "
                 "(organisational domain chorok-tea.kr): DMARC fails at Gmail and Naver; use a domain under "
                 "chorok-tea.kr.", id="misaligned Return-Path"),
    pytest.param({f"unsubscribe@{DOMAIN}": "unsubscribe@example.co.kr"},
                 "✗ placeholders: [unsubscribe] mailto = 'unsubscribe@example.co.kr' still holds a placeholder "
                 "(example.co.kr); put your own value there.", id="example.co.kr left"),
    pytest.param({f'base_url = "https://news.{DOMAIN}/u"': f'base_url = "http://news.{DOMAIN}/u"'},
                 "✗ unsubscribe and feedback links: [unsubscribe] base_url: http://news.chorok-tea.kr/u is not https; "
                 "receivers and readers distrust plain http links — serve it over https.", id="http unsubscribe URL"),
    pytest.param({f"news@{DOMAIN}": "chorok.tea@naver.com", f"{DOMAIN}\"\nselector": "naver.com\"\nselector"},
                 "✗ From domain: the From address is on naver.com, a mailbox provider's domain: its DMARC policy makes "
                 "receivers reject or junk bulk mail sent from elsewhere; send from your own domain.",
                 id="From on naver.com"),
]


@pytest.mark.parametrize(("replace", "line"), CONFIG_PROBLEMS)
def test_each_config_problem_fails_offline_with_its_own_line(tmp_path, dkim_key, replace, line, check_here):
    result = check_here(project(tmp_path, **replace), "--lang", "en", dkim=dkim_key)
    assert result.returncode == 1
    assert line in failing_lines(result.stdout)
    if "naver" not in line:  # From on naver.com also misaligns the Return-Path, rightly
        assert failing_lines(result.stdout) == [line]


def test_korean_is_the_default_for_a_korean_publication(tmp_path, dkim_key):
    result = check(project(tmp_path, **{f"unsubscribe@{DOMAIN}": "unsubscribe@example.co.kr"}), dkim=dkim_key)
    assert result.returncode == 1
    assert failing_lines(result.stdout) == [
        "✗ 예시 값: [unsubscribe] mailto = 'unsubscribe@example.co.kr'에 예시 값(example.co.kr)이 남아 있습니다. "
        "실제 값으로 바꾸세요."]
    assert result.stdout.rstrip().endswith("1개 항목이 실패했습니다. 실제 발송 전에 고치세요.")


def test_a_subdomain_aligns_with_its_organisational_domain(tmp_path, dkim_key):
    result = check(project(tmp_path, **{f"bounces@{DOMAIN}": f"bounces@mail.{DOMAIN}"}), "--lang", "en", dkim=dkim_key)
    assert result.returncode == 0, result.stdout
    assert "✓ Return-Path alignment: Return-Path mail.chorok-tea.kr aligns with From" in result.stdout


def test_a_missing_dkim_key_fails_and_a_short_one_warns(tmp_path):
    missing = check(project(tmp_path), "--lang", "en", dkim="")
    assert failing_lines(missing.stdout) == [
        "✗ DKIM key: the DKIM private key is not set: put the PEM in the environment variable "
        "WEBZINE_DKIM_PRIVATE_KEY (a CI secret)."]
    short = check(project(tmp_path), "--lang", "en", dkim=pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    assert short.returncode == 0
    assert "! DKIM key: the DKIM key has 1024 bits; it works, but 2048 bits is the advised size" in short.stdout


def test_bad_usage_and_bad_config_exit_2(tmp_path, dkim_key):
    folder = project(tmp_path)
    assert check(folder, "--resolver", "127.0.0.1:53", dkim=dkim_key).returncode == 2  # --resolver without --dns
    wrong = check(folder, "--dns", "--resolver", "dns.example:53", dkim=dkim_key)
    assert wrong.returncode == 2
    assert wrong.stderr.splitlines()[0] == ("Error: --resolver 'dns.example:53' is not an IP address with an optional "
                                            "port; write it as 127.0.0.1:5353 or [::1]:5353.")
    (folder / "webzine.toml").write_text(CONFIG + "\n[dkim]\nselectr = 'x'\n", encoding="utf-8")
    assert check(folder, dkim=dkim_key).returncode == 2


def test_an_email_api_needs_its_include_and_shows_its_own_settings(tmp_path, serve, dkim_key):
    """Through Postmark: SPF must include spf.mtasv.net, and Postmark's own pre-flight (read from the
    stand-in through its API) is shown beside the DNS checks."""
    postmark = ApiServer("postmark")
    try:
        postmark.configure()
        folder = project(tmp_path, **{'transport = "smtp"': 'transport = "postmark"',
                                      "[dkim]": f'[postmark]\nbase_url = "{postmark.url}"\n\n[dkim]'})
        token = {"POSTMARK_SERVER_TOKEN": "test-token"}
        missing = run(folder, "check", "--dns", "--resolver", f"127.0.0.1:{serve().port}", "--lang", "en",
                      dkim=dkim_key, env=token)
        assert missing.returncode == 1
        assert failing_lines(missing.stdout) == [
            "✗ SPF: the SPF record of chorok-tea.kr does not include spf.mtasv.net, so mail sent through postmark "
            "fails SPF; add include:spf.mtasv.net."]
        assert "✓ postmark_stream: " in missing.stdout
        included = serve(lambda zone: zone.update({
            (f"{DOMAIN}.", "TXT"): [txt("v=spf1 include:spf.mtasv.net -all")],
            ("spf.mtasv.net.", "TXT"): [txt("v=spf1 ip4:50.31.156.0/24 -all")]}))
        done = run(folder, "check", "--dns", "--resolver", f"127.0.0.1:{included.port}", dkim=dkim_key, env=token)
        assert done.returncode == 0, done.stdout
    finally:
        postmark.stop()


def test_a_resolver_that_does_not_answer_is_exit_3(tmp_path, dkim_key):
    with running(DnsServer({}, silent_names=frozenset({f"{DOMAIN}."}))) as silent:
        result = check(project(tmp_path), "--lang", "en", dkim=dkim_key, server=silent)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == (
        f"Error: the DNS resolver 127.0.0.1:{silent.port} did not answer for chorok-tea.kr TXT; nothing was "
        "concluded — re-run later, or choose a resolver with --resolver.")


# -- the send gate -----------------------------------------------------------------------------


def test_send_through_a_real_transport_is_refused_with_the_reasons(tmp_path, dkim_key):
    folder = copy_sample(tmp_path)
    set_send(folder, preflight="refuse")
    result = run(folder, "send", ISSUE, "--yes", "--transport", "smtp", dkim=dkim_key)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "✗ 예시 값: [publication] sender = '초록상회 <news@example.co.kr>'에 예시 값(example.co.kr)이 남아 있습니다. " \
           "실제 값으로 바꾸세요." in lines
    assert lines[-2] == "Error: smtp 발송 전 점검에서 12개 항목이 실패해 아무것도 보내지 않았습니다."
    assert not (folder / "state" / "ledger.sqlite3").exists()


def test_a_real_send_through_an_email_api_is_refused_by_the_providers_own_settings(tmp_path, dkim_key):
    """The domain is right, but SendGrid's domain authentication does not cover it (SendGrid rebuilds the
    MIME, so its signature is the one DMARC sees): `send --yes` asks SendGrid first and sends nothing."""
    sendgrid = ApiServer("sendgrid")
    try:
        sendgrid.configure()
        folder = project(copy_sample(tmp_path), **{'transport = "smtp"': 'transport = "sendgrid"',
                                                  "[dkim]": f'[sendgrid]\nbase_url = "{sendgrid.url}"\n\n[dkim]'})
        key = {"SENDGRID_API_KEY": "test-token"}
        result = run(folder, "send", ISSUE, "--yes", "--allow-gaps", "대표님 승인", dkim=dkim_key, env=key)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.splitlines()
        assert [line for line in lines if line.startswith("✗ ")] and all("sendgrid" in line.lower()
                                                                        for line in lines if line.startswith("✗ "))
        assert lines[-2] == "Error: sendgrid 발송 전 점검에서 1개 항목이 실패해 아무것도 보내지 않았습니다."
        assert not [request for request in sendgrid.received()["requests"] if request["path"] == "/v3/mail/send"]
        assert not (folder / "state" / "ledger.sqlite3").exists()
    finally:
        sendgrid.stop()


def test_the_outbox_only_warns(tmp_path, dkim_key):
    folder = copy_sample(tmp_path)
    set_send(folder, preflight="refuse")
    result = run(folder, "send", ISSUE, dkim=dkim_key)
    assert result.returncode == 0, result.stderr
    assert "발송 전 점검: 실제 발송이라면 11개 항목 때문에 멈춥니다(webzine check로 확인하세요)." in result.stderr
