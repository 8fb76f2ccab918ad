"""webzine.toml + environment → frozen `Settings`.

Every section is a pydantic model with `extra="forbid"`, so a misspelt key is an error that names
the key, its section, the line and the closest valid key. Secrets never live in the file: the file
names the environment variable that holds each one (`password_env = "WEBZINE_SMTP_PASSWORD"`) and
`secret()` reads it at the moment it is needed.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from webzine.segment_rules import DEFAULT_SEGMENTS, parse_rule
from webzine.errors import ConfigError
from webzine.i18n import _

CONFIG_FILE = "webzine.toml"
# The `[lists.columns]` key naming the list's column of account-manager addresses (a CRM export's
# `account_manager_email`): not a field of the row, the managers are made from it.
MANAGER_EMAIL = "manager_email"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Publication(Section):
    name: str
    sender: str  # "초록상회 <news@example.co.kr>"
    reply_to: str
    postal_address: str
    phone: str
    email: str = ""  # contact address printed in the footer; defaults to reply_to
    base_url: str  # web archive; "웹에서 보기" links
    language: str = "ko"
    list_id: str = ""  # List-Id domain part; defaults to the sender's domain
    why_you_get_this: str = "이 메일은 수신에 동의하신 고객님께 보내 드리는 소식지입니다."
    advertising: bool = False  # what `webzine new` starts an issue as, unless told otherwise

    @property
    def contact_email(self) -> str:
        return self.email or self.reply_to


class Lists(Section):
    subscribers: str = "lists/subscribers.csv"
    key_customers: str = "lists/key-customers.csv"
    managers: str = "lists/managers.csv"
    suppressions: str = "lists/suppressions.csv"
    consent_max_age_days: int = Field(730, ge=1)
    check_dns: bool = False
    # [lists.columns]: webzine's field → the export's own header, for every command that reads a list
    # (`email = "수신 메일 주소"`); `--column FIELD=HEADER` adds to it for one run.
    columns: dict[str, str] = {}


class Build(Section):
    issues: str = "issues"
    templates: str = "templates"
    output: str = "build"
    sample_recipient: str = ""  # email of the list row used for preview.html; first row when empty


class Unsubscribe(Section):
    base_url: str = ""  # https://news.example.co.kr/u ; the token is appended
    mailto: str = ""  # unsubscribe@example.co.kr
    secret_env: str = "WEBZINE_UNSUBSCRIBE_SECRET"


class Dkim(Section):
    domain: str = ""
    selector: str = ""
    private_key_env: str = "WEBZINE_DKIM_PRIVATE_KEY"


class Send(Section):
    transport: str = "outbox"
    rate: float = Field(20, gt=0)  # messages per second, at most, through a real transport
    # The local outbox (a rehearsal) writes files as fast as it can: pacing it at `rate` only makes
    # a rehearsal slow. A positive number paces it too, e.g. to time a send before the real one.
    rehearsal_rate: float = Field(0, ge=0)
    concurrency: int = Field(4, ge=1, le=64)
    # Where the output is not a terminal (a CI log), a progress line every so many seconds or
    # percent of the list, whichever comes first; a terminal shows a progress bar instead.
    progress_every_seconds: float = Field(10, gt=0)
    progress_every_percent: float = Field(10, gt=0, le=100)
    ledger: str = "state/ledger.sqlite3"
    outbox: str = "outbox"
    outbox_format: Literal["maildir", "mbox", "eml"] = "maildir"
    return_path: str = ""  # "bounces@example.co.kr" → VERP "bounces+<token>@example.co.kr"
    feedback_id: str = ""  # Feedback-ID campaign:customer:mailtype:senderid
    retry_deadline_seconds: float = Field(900, ge=0)
    max_attempts: int = Field(5, ge=1)
    stop_after_consecutive_errors: int = Field(20, ge=1)
    # Provider open/click tracking, per message (SES: through the configuration set). Off unless the
    # publication asks: click tracking rewrites every link, the in-body 수신거부 link too.
    track_opens: bool = False
    track_clicks: bool = False
    # `webzine check`'s offline checks before a send: "refuse" stops a real transport (exit 2), the outbox
    # warns; "off" only for rehearsals against a test relay with made-up domains, never for a real list.
    preflight: Literal["refuse", "off"] = "refuse"
    # `webzine send ISSUE --test-inboxes`: one [TEST] copy to each of the team's own accounts at the
    # webmails readers use (Naver, Daum/Hanmail, Nate, Gmail, Outlook.com), for the checklist in docs/clients.md.
    test_inboxes: list[str] = []


class Smtp(Section):
    host: str = "127.0.0.1"
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str = "WEBZINE_SMTP_USERNAME"
    password_env: str = "WEBZINE_SMTP_PASSWORD"
    ca_file: str = ""
    connections: int = Field(4, ge=1, le=64)
    max_messages_per_connection: int = Field(100, ge=1)
    timeout: float = Field(30, gt=0)  # seconds for each reply (and for writing a message)
    connect_timeout: float = Field(15, gt=0)  # seconds for TCP connect and the TLS handshake
    helo: str = ""


class Api(Section):
    """What every email API's section has; each provider's section adds its own keys, its
    webhook secret among them. Defaults live on the class, so a table that sets one key keeps
    the others."""

    base_url: str = ""
    api_key_env: str = ""
    timeout: float = Field(30, gt=0)


class SendGridApi(Api):
    base_url: str = "https://api.sendgrid.com"  # EU subusers: https://api.eu.sendgrid.com
    api_key_env: str = "SENDGRID_API_KEY"
    webhook_public_key_env: str = "WEBZINE_SENDGRID_WEBHOOK_PUBLIC_KEY"  # Signed Event Webhook key


class MailgunApi(Api):
    base_url: str = "https://api.mailgun.net"  # EU domains: https://api.eu.mailgun.net
    api_key_env: str = "MAILGUN_API_KEY"
    domain: str = ""  # the sending domain
    webhook_signing_key_env: str = "WEBZINE_MAILGUN_WEBHOOK_SIGNING_KEY"


class PostmarkApi(Api):
    base_url: str = "https://api.postmarkapp.com"
    api_key_env: str = "POSTMARK_SERVER_TOKEN"
    message_stream: str = "broadcast"  # Postmark requires bulk mail on a broadcast stream
    batch: bool = True  # false: one message per request
    webhook_username_env: str = "WEBZINE_POSTMARK_WEBHOOK_USERNAME"  # basic auth in the webhook URL
    webhook_password_env: str = "WEBZINE_POSTMARK_WEBHOOK_PASSWORD"


class SesApi(Api):
    base_url: str = ""  # empty: https://email.<region>.amazonaws.com
    api_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"
    session_token_env: str = "AWS_SESSION_TOKEN"  # optional: temporary credentials (STS, CI OIDC roles)
    region: str = "ap-northeast-2"
    configuration_set: str = ""
    sns_topic_arns: tuple[str, ...] = ()  # the webhook accepts notifications of these SNS topics only


# Where the webhook secrets were named before each provider had its own section: still read.
SERVE_KEYS_MOVED = {
    "sendgrid_public_key_env": ("sendgrid", "webhook_public_key_env"),
    "mailgun_signing_key_env": ("mailgun", "webhook_signing_key_env"),
    "postmark_username_env": ("postmark", "webhook_username_env"),
    "postmark_password_env": ("postmark", "webhook_password_env"),
    "sns_topic_arns": ("ses", "sns_topic_arns"),
}


class Bounces(Section):
    soft_limit: int = Field(3, ge=1)  # distinct issues in a row with a soft bounce
    imap_password_env: str = "WEBZINE_IMAP_PASSWORD"
    imap_ca_file: str = ""  # a private CA for imaps://; the system's CAs when empty
    processed_folder: str = "Processed"
    events: str = "state/bounce-events.jsonl"


class Serve(Section):
    host: str = "127.0.0.1"
    port: int = 8025
    store: str = "state/serve.sqlite3"  # SQLite file, or postgresql://user@host:port/db for several instances
    store_password_env: str = "WEBZINE_SERVE_DB_PASSWORD"  # PostgreSQL password (else libpq's PGPASSWORD)
    max_body_bytes: int = Field(65536, ge=1024)  # unsubscribe and feedback requests
    webhook_max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)  # providers post events in batches
    rate_limit_per_minute: int = Field(600, ge=1)  # per client address, on /u/ and /f/
    notify: bool = True  # send the 수신거부 처리결과 통지 through [send] transport
    webhook_max_age_seconds: int = Field(900, ge=60)  # signed timestamps older than this are refused


class CustomerSegment(Section):
    """A named group of customers and its rule (`webzine.segment_rules`); first match wins."""

    name: str
    when: str = ""  # "r >= 4 and f >= 4"; empty: everyone no segment above took

    @field_validator("when")
    @classmethod
    def _valid_rule(cls, text: str) -> str:
        parse_rule(text)
        return text


class Customers(Section):
    """`webzine customers score`: the order exports, the period counted, the segments."""

    orders: tuple[str, ...] = ("lists/orders.csv",)
    period_days: int = Field(730, ge=1)  # orders and value count the orders of this many days
    segments: tuple[CustomerSegment, ...] = tuple(CustomerSegment(name=n, when=w) for n, w in DEFAULT_SEGMENTS)
    propose: tuple[str, ...] = ("핵심 고객",)  # their customers are proposed as key customers
    watch: tuple[str, ...] = ("이탈 위험", "휴면 고객")  # designated key customers here are flagged

    @model_validator(mode="after")
    def _known_segments(self) -> "Customers":
        names = [segment.name for segment in self.segments]
        unknown = [name for name in (*self.propose, *self.watch) if name not in names]
        if unknown:
            raise ValueError(_("'{name}' is not one of the segments ({segments})").format(
                name=unknown[0], segments=", ".join(names)))
        if len(set(names)) != len(names):
            raise ValueError(_("two segments have the same name"))
        return self


class Feedback(Section):
    enabled: bool = True  # "이번 호는 어떠셨나요?" with rating links in every issue (served by `webzine serve`)


class Digest(Section):
    days_after: int = Field(7, ge=0)  # the monthly workflow sends the managers' digest this many days after the issue
    output: str = "build/digests"  # the HTML and CSV copies, one folder per issue


class Settings(Section):
    publication: Publication
    lists: Lists = Lists()
    build: Build = Build()
    send: Send = Send()
    smtp: Smtp = Smtp()
    dkim: Dkim = Dkim()
    unsubscribe: Unsubscribe = Unsubscribe()
    bounces: Bounces = Bounces()
    serve: Serve = Serve()
    feedback: Feedback = Feedback()
    digest: Digest = Digest()
    sendgrid: SendGridApi = SendGridApi()
    mailgun: MailgunApi = MailgunApi()
    postmark: PostmarkApi = PostmarkApi()
    ses: SesApi = SesApi()
    customers: Customers = Customers()

    root: Path = Path(".")

    def path(self, relative: str) -> Path:
        """A path from the config, relative to the project root (where webzine.toml lives)."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.root / candidate


def secret(env_name: str, *, purpose: str) -> str:
    """Read a secret from the environment; the value is never logged or stored."""
    value = os.environ.get(env_name, "")
    if not value:
        raise ConfigError(
            _("The environment variable {name} ({purpose}) is not set.").format(name=env_name, purpose=purpose),
            hint=_("export {name}=… (or set it as a CI secret); webzine.toml only names it.").format(name=env_name),
        )
    return value


def _line_of(text: str, section: str | None, key: str) -> int | None:
    """Best-effort line number of `key` inside `[section]`, for error messages."""
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            continue
        if current == section and re.match(rf"^{re.escape(key)}\s*=", line):
            return number
    return None


def _model_for(loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] = Settings
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return model
        model = field.annotation
    return model


def _explain(exc: ValidationError, path: Path, text: str) -> ConfigError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    key = str(loc[-1]) if loc else "?"
    section = ".".join(str(p) for p in loc[:-1]) or None
    line = _line_of(text, section, key)
    where_ = f"{path}:{line}" if line else str(path)
    in_section = f"[{section}]" if section else _("the top level")
    if error["type"] == "extra_forbidden":
        model = _model_for(loc[:-1])
        valid = [name for name in model.model_fields if name != "root"] if model else []
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
        if close:
            message = _("{where}: unknown key '{key}' in {section}; did you mean '{close}'?")
        else:
            message = _("{where}: unknown key '{key}' in {section}; valid keys: {valid}")
        return ConfigError(message.format(where=where_, key=key, section=in_section, close=close[0] if close else "",
                                          valid=", ".join(valid)))
    if error["type"] == "missing":
        return ConfigError(_("{where}: {section} is missing the required key '{key}'.").format(
            where=where_, section=in_section, key=key))
    # A validator's own sentence (already in the reader's language) without pydantic's "Value error, ".
    problem = error["ctx"]["error"] if error["type"] == "value_error" else error["msg"]
    return ConfigError(_("{where}: '{key}' in {section}: {problem}.").format(
        where=where_, key=key, section=in_section, problem=problem))


def _move_serve_keys(data: dict, path: Path) -> None:
    """Webhook secrets named under [serve], as before each provider had its own section."""
    serve = data.get("serve")
    if not isinstance(serve, dict):
        return
    for old_key, (section, key) in SERVE_KEYS_MOVED.items():
        if old_key not in serve:
            continue
        target = data.setdefault(section, {})
        if not isinstance(target, dict) or key in target:
            raise ConfigError(_("{path}: [serve] {old_key} and [{section}] {key} are both set; keep only [{section}] "
                                "{key}.")
                              .format(path=path, old_key=old_key, section=section, key=key))
        target[key] = serve.pop(old_key)


def load_settings(path: str | Path = CONFIG_FILE) -> Settings:
    """Read and validate webzine.toml; the project root is the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            _("{path}: no such file.").format(
                path=path), hint=_("run webzine in the project folder, or pass --config PATH.")
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{path}: not UTF-8 ({reason}); save it as UTF-8.").format(
            path=path, reason=exc.reason)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: {problem}; fix the TOML syntax.").format(path=path, problem=exc)) from None
    if "root" in data:
        raise ConfigError(_("{path}: unknown key 'root' at the top level.").format(path=path))
    _move_serve_keys(data, path)
    try:
        return Settings(**data, root=path.resolve().parent)
    except ValidationError as exc:
        raise _explain(exc, path, text) from None
