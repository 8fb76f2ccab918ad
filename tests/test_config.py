"""webzine.toml → Settings: unknown keys are named with the closest valid key and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import publication_config
from webzine.config import load_settings, secret
from webzine.errors import ConfigError
from webzine.i18n import activate

MINIMAL = publication_config()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webzine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_has_defaults_and_is_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.publication.name == "초록상회 소식지"
    assert settings.send.transport == "outbox"
    assert settings.lists.consent_max_age_days == 730
    assert settings.root == tmp_path.resolve()
    assert settings.path("lists/a.csv") == tmp_path.resolve() / "lists/a.csv"
    with pytest.raises(Exception):
        settings.send = settings.send  # type: ignore[misc]


def test_misspelt_key_names_key_section_line_and_closest_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "\n[send]\nconcurency = 8\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.message == (
        f"{path}:10: unknown key 'concurency' in [send]; did you mean 'concurrency'?"
    )


def test_unknown_section_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "\n[sned]\nrate = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'sned' in the top level; did you mean 'send'\?"):
        load_settings(path)


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(line for line in MINIMAL.splitlines(keepends=True) if not line.startswith("phone =")))
    with pytest.raises(ConfigError, match=r"\[publication\] is missing the required key 'phone'"):
        load_settings(path)


def test_wrong_type_and_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'rate' in \[send\]"):
        load_settings(write(tmp_path, MINIMAL + "\n[send]\nrate = -1\n"))
    with pytest.raises(ConfigError, match="fix the TOML syntax"):
        load_settings(write(tmp_path, MINIMAL + "\n[send\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_come_only_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WZ_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError) as info:
        secret("WZ_TEST_SECRET", purpose="SMTP password")
    assert "WZ_TEST_SECRET" in info.value.message
    monkeypatch.setenv("WZ_TEST_SECRET", "s3cret")
    assert secret("WZ_TEST_SECRET", purpose="SMTP password") == "s3cret"


def test_each_provider_names_its_webhook_secret_in_its_own_section(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL + '\n[mailgun]\nwebhook_signing_key_env = "MG_HOOK"\n'
                                   '[ses]\nsns_topic_arns = ["arn:aws:sns:ap-northeast-2:123456789012:t"]\n'))
    assert settings.mailgun.webhook_signing_key_env == "MG_HOOK"
    assert settings.ses.sns_topic_arns == ("arn:aws:sns:ap-northeast-2:123456789012:t",)
    assert settings.sendgrid.webhook_public_key_env == "WEBZINE_SENDGRID_WEBHOOK_PUBLIC_KEY"
    path = write(tmp_path, MINIMAL + '\n[sendgrid]\ndomain = "mg.example.co.kr"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'domain' in \[sendgrid\]"):
        load_settings(path)


def test_webhook_secrets_named_under_serve_as_before_are_still_read(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL + '\n[serve]\npostmark_username_env = "PM_USER"\n'
                                   'sns_topic_arns = ["arn:aws:sns:ap-northeast-2:123456789012:t"]\n'))
    assert settings.postmark.webhook_username_env == "PM_USER"
    assert settings.ses.sns_topic_arns == ("arn:aws:sns:ap-northeast-2:123456789012:t",)
    path = write(tmp_path, MINIMAL + '\n[serve]\nmailgun_signing_key_env = "A"\n[mailgun]\nwebhook_signing_key_env = "B"\n')
    with pytest.raises(ConfigError, match=r"\[serve\] mailgun_signing_key_env and \[mailgun\] webhook_signing_key_env"):
        load_settings(path)


def test_config_errors_in_korean_keep_the_file_and_line(tmp_path: Path) -> None:
    activate("ko")
    path = write(tmp_path, MINIMAL + "\n[send]\nconcurency = 8\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.message == f"{path}:10: [send]에 알 수 없는 키 'concurency'가 있습니다. 'concurrency'을(를) 쓰려던 것인가요?"
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml")
    assert (info.value.message, info.value.hint) == (
        f"{tmp_path / 'nope.toml'}: 파일이 없습니다.", "프로젝트 폴더에서 webzine을 실행하거나 --config PATH를 지정하세요.")
    path = write(tmp_path, MINIMAL + "\n[customers]\nsegments = [{name = '핵심', when = 'r >= 4 or f >= 4'}]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.message == (
        f"{path}: [customers.segments.0]의 'when': 'r >= 4 or f >= 4'은(는) 'r >= 4' 같은 조건이 아닙니다"
        "(지표: r, f, m, days, orders, value, 연산자: >= <= == != > <, 조건은 'and'로 잇습니다).")
