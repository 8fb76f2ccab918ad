"""The classifier: status codes and diagnostic words → kind, with `hard` kept for certainties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webzine.bounces import classify as classify_module
from webzine.bounces.classify import classify, find_status, required_literal, smtp_command, split_branches
from webzine.bounces.events import Kind


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind", "reason"),
    [
        ("5.1.1", "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", Kind.HARD, "user_unknown"),
        ("5.1.2", "550 5.1.2 Host unknown", Kind.HARD, "host_unknown"),
        ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
         Kind.HARD, "not_accept"),
        ("5.2.2", "552 5.2.2 <a@b.example>: Mailbox full", Kind.SOFT, "mailbox_full"),
        ("4.2.2", "452 4.2.2 Over quota", Kind.SOFT, "mailbox_full"),
        ("4.7.1", "450 4.7.1 Greylisted, please try again later", Kind.SOFT, "rate_limited"),
        ("5.4.7", "Message expired: delivery time expired", Kind.SOFT, "expired"),
        ("5.7.26", "550 5.7.26 Unauthenticated email from example.co.kr is not accepted due to domain's DMARC "
                   "policy", Kind.SENDER_PROBLEM, "auth_failure"),
        ("5.7.515", "550 5.7.515 Access denied, sending domain does not meet the required authentication level",
         Kind.SENDER_PROBLEM, "auth_failure"),
        ("5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
         Kind.SENDER_PROBLEM, "blocklisted"),
        ("5.7.25", "550 5.7.25 The IP address sending this message does not have a PTR record",
         Kind.SENDER_PROBLEM, "require_ptr"),
        ("5.7.10", "530 5.7.10 Must issue a STARTTLS command first", Kind.SENDER_PROBLEM, "tls_required"),
        ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", Kind.SENDER_PROBLEM, "spam_content"),
        ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled", Kind.SOFT, "disabled"),
        (None, "", Kind.UNKNOWN, "unknown"),
        ("5.0.0", "550 Something went wrong", Kind.UNKNOWN, "unknown"),
    ],
)
def test_status_and_words_decide_the_kind(status, diagnostic, kind, reason) -> None:
    verdict = classify(status, diagnostic, structured=True, recipient="a@b.example")
    assert (verdict.kind, verdict.reason) == (kind, reason)


def test_a_user_unknown_after_data_is_not_believed() -> None:
    """Mailboxes are checked at RCPT TO; after DATA the words are a content filter's."""
    words = "550 Unknown user a@b.example"
    assert classify("5.0.0", words, context=">>> DATA\n<<< " + words).kind is Kind.SOFT
    assert classify("5.0.0", words, context="... after RCPT TO:<a@b.example>: " + words).kind is Kind.HARD


def test_a_policy_block_dressed_as_5_1_1_is_the_senders_problem() -> None:
    verdict = classify("5.1.1", "550 5.1.1 Service unavailable; client host blocked using Spamhaus")
    assert verdict.kind is Kind.SENDER_PROBLEM


def test_refused_at_mail_from_is_the_senders_problem_whatever_the_words() -> None:
    verdict = classify(None, "SMTP error from remote mail server after MAIL FROM:<x@y>: 550 5.1.7 No such domain")
    assert (verdict.kind, verdict.reason, verdict.status) == (Kind.SENDER_PROBLEM, "sender_rejected", "5.1.7")


def test_temporary_user_unknown_is_soft() -> None:
    assert classify("4.1.1", "450 4.1.1 <a@b>: Recipient address rejected: User unknown").kind is Kind.SOFT


def test_a_disabled_mailbox_is_soft_even_when_the_words_say_unknown() -> None:
    """RFC 3463 X.2.1: the mailbox exists; disabled may be permanent or transient."""
    verdict = classify("5.2.1", "550 5.2.1 <a@b.example>... User Unknown (in reply to RCPT TO command)")
    assert (verdict.kind, verdict.reason) == (Kind.SOFT, "disabled")


def test_delivery_reports_are_delivered() -> None:
    assert classify("2.0.0", "250 OK", action="delivered").kind is Kind.DELIVERED


def test_status_and_command_helpers() -> None:
    assert find_status("550 5.0.0 then 5.1.1 <x>") == "5.1.1"
    assert find_status("version 1.2.3.4 and 10.5.1.1") is None
    assert smtp_command("(in reply to RCPT TO command)") == "RCPT"
    assert smtp_command("SMTP error from remote mail server after end of data:") == "DATA"


SENDER_WORDS = ["DMARC policy", "blocked using Spamhaus", "SPF check failed", "listed in a DNSBL",
                "reverse DNS lookup failed", "must issue a STARTTLS command first"]


@pytest.mark.slow
@given(status=st.sampled_from(["5.1.1", "5.0.0", "5.7.1", "5.2.1", None]), words=st.sampled_from(SENDER_WORDS),
       noise=st.text(max_size=80))
def test_sender_problems_are_never_hard(status, words, noise) -> None:
    verdict = classify(status, f"550 {noise} {words} {noise}", structured=True)
    assert verdict.kind is not Kind.HARD


@given(status=st.from_regex(r"4\.[0-9]\.[0-9]{1,2}", fullmatch=True), noise=st.text(max_size=120))
def test_a_temporary_code_is_never_hard(status, noise) -> None:
    assert classify(status, f"450 {status} {noise} user unknown no such user").kind is not Kind.HARD


@given(st.text(max_size=400), st.text(max_size=400))
def test_classify_accepts_any_text(diagnostic, context) -> None:
    assert classify(None, diagnostic, context=context).kind in set(Kind)


# --- the branch prefilter must never change an answer ------------------------------------------

TABLES = [classify_module.RECIPIENT_FIRST, classify_module.SENDER_PROBLEMS, classify_module.SOFT,
          classify_module.FILTERED, classify_module.HARD, classify_module.GENERIC_SOFT]
WORDS = sorted({word for table in TABLES for _, pattern in table.rows for word in
                re.findall(r"[a-z0-9.]{3,}", pattern.pattern)})


def test_split_branches_and_required_literals() -> None:
    assert split_branches(r"a|(?:b|c)|[|]|d\|e") == ["a", "(?:b|c)", "[|]", r"d\|e"]
    assert required_literal(r"authentication checks? failed") == "authentication check"
    assert required_literal(r"\bdmarc\b") == "dmarc"
    assert required_literal(r"5\.7\.(?:23|26)\b") == "5.7."
    assert required_literal(r"(?:user|account) (?:unknown)") is None
    assert required_literal(r"exceed(?:s|ed)? [^.\n]{0,40}quota") == "exceed"


@given(st.lists(st.sampled_from(WORDS + [" ", "\n", "not ", "<a@b.example>", "550 "]), max_size=30))
def test_the_prefilter_gives_the_same_answers_as_plain_search(pieces: list[str]) -> None:
    text = " ".join(pieces)
    for table in TABLES:
        plain = next((reason for reason, pattern in table.rows if pattern.search(text)), None)
        assert table.first(text) == plain
