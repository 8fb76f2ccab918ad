from __future__ import annotations

import base64
import hmac

from hypothesis import given
from hypothesis import strategies as st

from webzine import tokens
import pytest


def test_unsubscribe_token_is_stable_case_insensitive_and_carries_no_address() -> None:
    token = tokens.unsubscribe_token("k", "news.example.co.kr", "Kim@Naver.com")
    assert token == tokens.unsubscribe_token("k", "news.example.co.kr", " kim@naver.com ")
    assert len(token) == 43 and "kim" not in token.lower() and "@" not in token
    assert tokens.verify_unsubscribe_token("k", "news.example.co.kr", "kim@naver.com", token)
    assert not tokens.verify_unsubscribe_token("k", "other.list", "kim@naver.com", token)
    assert not tokens.verify_unsubscribe_token("other-secret", "news.example.co.kr", "kim@naver.com", token)
    assert not tokens.verify_unsubscribe_token("k", "news.example.co.kr", "kim@naver.com", token[:-1])


def test_index_resolves_tokens() -> None:
    index = tokens.index_unsubscribe_tokens("k", "l", ["a@x.kr", "b@x.kr"])
    assert index[tokens.unsubscribe_token("k", "l", "b@x.kr")] == "b@x.kr"


@pytest.mark.slow
@given(st.emails(), st.text(min_size=1, max_size=40))
def test_verp_round_trip(address: str, issue: str) -> None:
    token = tokens.verp_token("secret", issue, address)
    verp = tokens.verp_address("bounces@example.co.kr", token)
    assert verp.startswith("bounces+") and verp.endswith("@example.co.kr")
    assert len(verp.partition("@")[0]) <= 64
    assert tokens.verp_token_from(verp) == token
    assert tokens.verp_token_from(f"<{verp.upper()}>") == token


def test_verp_token_from_rejects_ordinary_addresses() -> None:
    assert tokens.verp_token_from("kim@naver.com") is None
    assert tokens.verp_token_from("kim+news@naver.com") is None


def test_tokens_are_the_ones_already_sent() -> None:
    """Pinned: links in sent mail and VERP tokens in existing ledgers must keep resolving."""
    assert tokens.unsubscribe_token("k", "news.example.co.kr", "Kim@Naver.com") == "0KGyMu5EbQAvlmwkZSLwLhPb6lFqtj40pw2dt2hpO54"
    assert tokens.verp_token("secret", "2026-12-year-end", "Kim@Naver.com") == "wulaxdq7uqogj4ja"
    assert tokens.verp_token("secret", "호", "홍@예시.kr") == "sq3hc5runizuelgr"


@given(st.binary(min_size=10, max_size=10))
def test_base32_matches_the_standard_encoding(data: bytes) -> None:
    assert tokens._base32_80(data) == base64.b32encode(data).decode("ascii").lower()


@given(st.text(max_size=200), st.binary(max_size=300))
def test_hmac_is_rfc_2104(secret: str, message: bytes) -> None:
    """Keys shorter and longer than a SHA-256 block, any message: the standard library's HMAC."""
    assert tokens.hmac_sha256(secret, message) == hmac.digest(secret.encode(), message, "sha256")
