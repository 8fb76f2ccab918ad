"""Every message `webzine check` (and the send gate) shows, in English and Korean, in one table.

Korean for a `[publication] language = "ko"` publication, English with `--lang en`. The keys and
`{name}` fields stay when these move into the gettext catalogs the whole CLI is getting; until
then `message()` is the one place a language is chosen.
"""

from __future__ import annotations

LANGUAGES = ("ko", "en")

# key: (English, Korean)
MESSAGES: dict[str, tuple[str, str]] = {
    # -- offline -----------------------------------------------------------------------------------
    "placeholder": (
        "{field} = {value!r} still holds a placeholder ({placeholder}); put your own value there.",
        "{field} = {value!r}에 예시 값({placeholder})이 남아 있습니다. 실제 값으로 바꾸세요."),
    "no_placeholders": (
        "no example or placeholder values are left in the settings a send uses.",
        "발송에 쓰이는 설정에 예시 값이 남아 있지 않습니다."),
    "sender_unreadable": (
        "[publication] sender = {value!r} has no address; write it as 'Name <news@your-domain>'.",
        "[publication] sender = {value!r}에 주소가 없습니다. '이름 <news@회사도메인>' 형식으로 쓰세요."),
    "mailbox_provider_from": (
        "the From address is on {from_domain}, a mailbox provider's domain: its DMARC policy makes receivers "
        "reject or junk bulk mail sent from elsewhere; send from your own domain.",
        "보내는 주소가 메일 서비스 도메인({from_domain})입니다. 그 도메인의 DMARC 정책 때문에 다른 서버에서 보낸 "
        "대량 메일은 거부되거나 스팸함으로 갑니다. 회사 도메인 주소로 보내세요."),
    "own_from": (
        "the From address is on your own domain, {from_domain}.",
        "보내는 주소가 자체 도메인({from_domain})입니다."),
    "dkim_by_provider": (
        "{provider} signs with DKIM; authenticate {from_domain} in {provider}'s dashboard so that d= aligns.",
        "발송 서비스({provider})가 DKIM 서명을 합니다. d=가 맞도록 그 관리 화면에서 {from_domain} 도메인 인증을 마치세요."),
    "dkim_not_configured": (
        "webzine does not sign (no [dkim] domain and selector); Gmail, Yahoo and Naver require DKIM for bulk "
        "mail — set [dkim] for {from_domain}, unless your relay signs for it.",
        "[dkim] domain과 selector가 없어 DKIM 서명을 하지 않습니다. Gmail·Yahoo·네이버는 대량 메일에 DKIM을 "
        "요구합니다. 중계 서버가 대신 서명하지 않는다면 {from_domain}용 [dkim]을 설정하세요."),
    "aligned": (
        "{what} {domain} aligns with From ({from_domain}, organisational domain {organisation}).",
        "{what} 도메인({domain})이 보내는 주소의 도메인({from_domain})과 같은 조직 도메인({organisation})입니다."),
    "misaligned": (
        "{what} {domain} does not align with From {from_domain} (organisational domain {organisation}): DMARC "
        "fails at Gmail and Naver; use a domain under {organisation}.",
        "{what} 도메인({domain})이 보내는 주소의 조직 도메인({organisation})과 달라 Gmail과 네이버에서 DMARC가 "
        "실패합니다. {organisation} 아래의 도메인을 쓰세요."),
    "not_https": (
        "{field}: {url} is not https; receivers and readers distrust plain http links — serve it over https.",
        "{field}: https가 아닌 주소입니다({url}). 수신 서버와 독자가 http 링크를 믿지 않으니 https로 바꾸세요."),
    "other_domain": (
        "{field}: {url} is not under your From domain {from_domain}; make sure you control that domain.",
        "{field}: 주소({url})가 보내는 주소의 도메인({from_domain}) 아래에 있지 않습니다. 직접 관리하는 "
        "도메인인지 확인하세요."),
    "link_ok": (
        "{field}: {url} is https on your own domain.",
        "{field}: 자체 도메인의 https 주소입니다({url})."),
    "dkim_key_unused": (
        "no [dkim] domain and selector, so no private key is needed.",
        "[dkim] domain과 selector가 없어 개인 키가 필요하지 않습니다."),
    "dkim_key_missing": (
        "the DKIM private key is not set: put the PEM in the environment variable {env} (a CI secret).",
        "DKIM 개인 키가 없습니다. PEM을 환경 변수 {env}(CI 시크릿)에 넣으세요."),
    "dkim_key_unreadable": (
        "the DKIM private key in {env} cannot be read; it must be an unencrypted PEM private key.",
        "{env}의 DKIM 개인 키를 읽을 수 없습니다. 암호가 없는 PEM 개인 키여야 합니다."),
    "dkim_key_not_rsa": (
        "the DKIM private key in {env} is not an RSA key; generate one: openssl genrsa 2048.",
        "{env}의 DKIM 개인 키가 RSA 키가 아닙니다. openssl genrsa 2048로 새로 만드세요."),
    "dkim_key_too_small": (
        "the DKIM key has {bits} bits; receivers ignore keys under 1024 bits — generate a 2048-bit key.",
        "DKIM 키가 {bits}비트입니다. 1024비트보다 짧은 키는 수신 서버가 무시하니 2048비트 키를 새로 만드세요."),
    "dkim_key_small": (
        "the DKIM key has {bits} bits; it works, but 2048 bits is the advised size — plan to rotate it.",
        "DKIM 키가 {bits}비트입니다. 쓸 수는 있지만 권장 길이는 2048비트이니 교체를 계획하세요."),
    "dkim_key_ok": (
        "the DKIM private key loads ({bits}-bit RSA).",
        "DKIM 개인 키를 읽었습니다({bits}비트 RSA)."),
    "footer_missing": (
        "{field} is empty; the footer must show the sender's name, postal address, phone and email "
        "(정보통신망법 제50조).",
        "{field} 값이 비어 있습니다. 바닥글에는 보내는 사람의 이름·주소·전화번호·이메일이 있어야 합니다"
        "(정보통신망법 제50조)."),
    "footer_ok": (
        "the footer has the sender's name, postal address, phone and email.",
        "바닥글에 보내는 사람의 이름·주소·전화번호·이메일이 있습니다."),
    # -- online ------------------------------------------------------------------------------------
    "spf_missing": (
        "{domain} has no SPF record; publish a TXT record \"v=spf1 … -all\" naming your mail server or provider.",
        "{domain}에 SPF 레코드가 없습니다. 메일 서버나 발송 서비스를 넣은 TXT 레코드 \"v=spf1 … -all\"을 등록하세요."),
    "spf_multiple": (
        "{domain} has more than one SPF record, which receivers treat as an error; merge them into one.",
        "{domain}에 SPF 레코드가 둘 이상 있어 수신 서버가 오류로 처리합니다. 하나로 합치세요."),
    "spf_include_missing": (
        "the SPF record of {domain} names {include}, which has no SPF record (permerror); fix or remove it.",
        "{domain}의 SPF 레코드가 가리키는 {include}에 SPF 레코드가 없습니다(permerror). 고치거나 빼세요."),
    "spf_too_many_lookups": (
        "the SPF record of {domain} needs {count} DNS lookups; receivers stop at 10 and fail SPF — remove "
        "includes you no longer use or replace them with ip4:/ip6: ranges.",
        "{domain}의 SPF 레코드는 DNS 조회가 {count}번 필요합니다. 수신 서버는 10번에서 멈추고 SPF를 실패로 "
        "봅니다. 쓰지 않는 include를 빼거나 ip4:/ip6: 범위로 바꾸세요."),
    "spf_not_covering_provider": (
        "the SPF record of {domain} does not include {include}, so mail sent through {provider} fails SPF; "
        "add include:{include}.",
        "{domain}의 SPF 레코드에 include:{include} 항목이 없어 {provider}로 보낸 메일이 SPF에 실패합니다. "
        "include:{include}를 추가하세요."),
    "spf_host_unresolved": (
        "the SMTP host {host} has no address in DNS, so SPF coverage cannot be checked.",
        "SMTP 서버 {host}의 주소가 DNS에 없어 SPF 허용 여부를 확인할 수 없습니다."),
    "spf_not_covering_host": (
        "the SPF record of {domain} does not authorise the SMTP host {host} ({address}); add ip4:/ip6: for it "
        "or the include your mail provider documents.",
        "{domain}의 SPF 레코드가 SMTP 서버 {host}({address})를 허용하지 않습니다. 그 주소의 ip4:/ip6:이나 "
        "메일 서비스가 안내하는 include를 추가하세요."),
    "spf_ok": (
        "SPF at {domain} is present and authorises the sending host ({count} DNS lookups of 10).",
        "{domain}의 SPF 레코드가 있고 발송 서버를 허용합니다(DNS 조회 {count}/10번)."),
    "dkim_record_skipped": (
        "{name} was not compared: the private key could not be loaded (see above).",
        "개인 키를 읽지 못해 {name}의 공개 키와 비교하지 않았습니다(위 항목 참고)."),
    "dkim_record_missing": (
        "{name} has no DKIM key in DNS; publish a TXT record \"v=DKIM1; k=rsa; p=…\" with the public key.",
        "{name}에 DKIM 공개 키가 없습니다. 공개 키를 넣은 TXT 레코드 \"v=DKIM1; k=rsa; p=…\"를 등록하세요."),
    "dkim_record_revoked": (
        "{name} publishes an empty key (revoked); publish the public key of the key you sign with.",
        "{name}의 공개 키가 비어 있습니다(폐기됨). 서명에 쓰는 키의 공개 키를 등록하세요."),
    "dkim_record_unreadable": (
        "{name} publishes a key that cannot be read; copy the public key again (base64, one line).",
        "{name}의 공개 키를 읽을 수 없습니다. 공개 키를 다시 복사해 넣으세요(base64 한 줄)."),
    "dkim_record_mismatch": (
        "{name} publishes a different public key than the private key webzine signs with: every signature "
        "fails; publish the matching key or sign with the published one.",
        "{name}의 공개 키가 webzine이 서명하는 개인 키와 짝이 맞지 않아 모든 서명이 실패합니다. 맞는 공개 키를 "
        "등록하거나 등록된 키로 서명하세요."),
    "dkim_record_ok": (
        "{name} publishes the public key of the private key webzine signs with.",
        "{name}의 공개 키가 webzine이 서명하는 개인 키와 짝이 맞습니다."),
    "dmarc_missing": (
        "{domain} has no DMARC record; publish _dmarc.{domain} TXT \"v=DMARC1; p=none; rua=mailto:…\" "
        "(Gmail, Yahoo and Naver require one for bulk mail).",
        "{domain}에 DMARC 레코드가 없습니다. _dmarc.{domain}에 TXT \"v=DMARC1; p=none; rua=mailto:…\"를 "
        "등록하세요(Gmail·Yahoo·네이버가 대량 메일에 요구합니다)."),
    "dmarc_multiple": (
        "{name} has more than one DMARC record, so receivers apply none; keep one.",
        "{name}에 DMARC 레코드가 둘 이상 있어 수신 서버가 아무것도 적용하지 않습니다. 하나만 남기세요."),
    "dmarc_no_policy": (
        "{name} has no valid p= policy; write p=none, p=quarantine or p=reject.",
        "{name}에 올바른 p= 정책이 없습니다. p=none, p=quarantine, p=reject 중 하나를 쓰세요."),
    "dmarc_ok": (
        "DMARC at {name} with policy p={policy}.",
        "{name}에 DMARC 레코드가 있습니다(정책 p={policy})."),
    "return_path_null_mx": (
        "the Return-Path domain {domain} declares that it accepts no mail (null MX), so bounces are lost; "
        "use a domain that receives mail.",
        "Return-Path 도메인({domain})은 메일을 받지 않는다고 선언되어(null MX) 반송 메일을 받을 수 없습니다. "
        "메일을 받는 도메인을 쓰세요."),
    "return_path_unreachable": (
        "the Return-Path domain {domain} has no MX or address record: bounces cannot come back and some "
        "receivers refuse the mail; add an MX record.",
        "Return-Path 도메인({domain})에 MX나 주소 레코드가 없어 반송 메일이 돌아오지 못하고 일부 수신 서버는 "
        "메일을 거부합니다. MX 레코드를 추가하세요."),
    "return_path_ok": (
        "the Return-Path domain {domain} receives mail (bounces come back).",
        "Return-Path 도메인({domain})이 메일을 받습니다(반송 메일이 돌아옵니다)."),
    # -- the bulk-sender checklist -----------------------------------------------------------------
    "checklist_title": ("Bulk-sender requirements", "대량 발송 요건"),
    "col_requirement": ("requirement", "요건"),
    "col_receivers": ("required by", "요구하는 곳"),
    "col_result": ("result", "결과"),
    "col_todo": ("what to do", "할 일"),
    "req_spf": ("SPF record covering the sending server", "발송 서버를 허용하는 SPF 레코드"),
    "req_spf_todo": ("see the SPF line above", "위 SPF 항목을 보고 고치세요"),
    "req_dkim": ("DKIM signature with a published key", "공개 키가 등록된 DKIM 서명"),
    "req_dkim_todo": ("set [dkim] and publish its key; with a provider, authenticate the domain there",
                      "[dkim]을 설정하고 공개 키를 등록하세요. 발송 서비스를 쓰면 그곳에서 도메인 인증을 하세요"),
    "req_dmarc": ("DMARC record (p=none is enough)", "DMARC 레코드(p=none이면 충분)"),
    "req_dmarc_todo": ("publish _dmarc TXT \"v=DMARC1; p=none; rua=mailto:…\"",
                       "_dmarc TXT \"v=DMARC1; p=none; rua=mailto:…\"를 등록하세요"),
    "req_alignment": ("From aligned with the SPF or DKIM domain", "보내는 주소 도메인과 SPF·DKIM 도메인 일치"),
    "req_alignment_todo": ("send From your own domain and sign/bounce under it",
                           "자체 도메인으로 보내고 서명·반송 주소도 그 도메인 아래로 두세요"),
    "req_one_click": ("one-click unsubscribe (RFC 8058) and a visible link", "원클릭 수신거부(RFC 8058)와 본문 링크"),
    "req_one_click_todo": ("set [unsubscribe] base_url to https on your domain and run webzine serve there",
                           "[unsubscribe] base_url을 자체 도메인의 https 주소로 두고 그곳에서 webzine serve를 실행하세요"),
    "req_tls": ("TLS to the receiving servers", "TLS 암호화 전송"),
    "req_tls_todo": ("set [smtp] security to starttls or tls", "[smtp] security를 starttls나 tls로 두세요"),
    "req_ptr": ("reverse DNS (PTR) for the sending IP", "발송 IP의 역방향 DNS(PTR)"),
    "req_ptr_todo": ("ask the server's hosting company; a provider does this for you",
                     "서버 호스팅 업체에 요청하세요. 발송 서비스를 쓰면 서비스가 처리합니다"),
    "req_spam_rate": ("spam complaints under 0.3% (aim for 0.1%)", "스팸 신고율 0.3% 미만(목표 0.1%)"),
    "req_spam_rate_todo": ("watch Google Postmaster Tools and Yahoo's Sender Hub",
                           "Google Postmaster Tools와 Yahoo Sender Hub에서 확인하세요"),
    "manual": ("check by hand", "직접 확인"),
    # -- the command's own lines -------------------------------------------------------------------
    "all_passed": ("all checks passed.", "모든 점검을 통과했습니다."),
    "some_failed": ("{count} check(s) failed; fix them before a real send.",
                    "{count}개 항목이 실패했습니다. 실제 발송 전에 고치세요."),
    "gate_failed": ("{count} pre-flight check(s) failed for the {transport} transport; nothing was sent.",
                    "{transport} 발송 전 점검에서 {count}개 항목이 실패해 아무것도 보내지 않았습니다."),
    "gate_hint": ("run webzine check (and webzine check --dns) and fix webzine.toml.",
                  "webzine check(와 webzine check --dns)를 실행하고 webzine.toml을 고치세요."),
    "gate_rehearsal": ("pre-flight: {count} check(s) would stop a real send (webzine check shows them).",
                       "발송 전 점검: 실제 발송이라면 {count}개 항목 때문에 멈춥니다(webzine check로 확인하세요)."),
}

# The checks' names as shown in front of each line.
CHECKS: dict[str, tuple[str, str]] = {
    "placeholders": ("placeholders", "예시 값"),
    "from_domain": ("From domain", "보내는 도메인"),
    "dkim_alignment": ("DKIM alignment", "DKIM 도메인 일치"),
    "return_path_alignment": ("Return-Path alignment", "Return-Path 도메인 일치"),
    "unsubscribe_url": ("unsubscribe and feedback links", "수신거부·의견 링크"),
    "archive_url": ("web archive link", "웹에서 보기 링크"),
    "unsubscribe_mailto": ("unsubscribe mailto", "수신거부 메일 주소"),
    "dkim_key": ("DKIM key", "DKIM 키"),
    "footer": ("footer", "바닥글"),
    "spf": ("SPF", "SPF"),
    "dkim_record": ("DKIM record", "DKIM 레코드"),
    "dmarc": ("DMARC", "DMARC"),
    "return_path_domain": ("Return-Path domain", "Return-Path 도메인"),
}


def language_for(option: str | None, publication_language: str) -> str:
    """`--lang` when given, else Korean for a Korean publication, else English."""
    chosen = (option or publication_language or "en").lower()
    return "ko" if chosen.startswith("ko") else "en"


def message(key: str, language: str, **values: str) -> str:
    english, korean = MESSAGES[key]
    return (korean if language == "ko" else english).format(**values)


def check_name(check: str, language: str) -> str:
    """The check's label; a provider's check (`postmark_stream`) shows as its own name."""
    english, korean = CHECKS.get(check, (check, check))
    return korean if language == "ko" else english
