"""Settings: environment variables over an optional TOML file over defaults.

Every setting has an environment variable ``HERON_<NAME>``. The optional file is
``$HERON_HOME/heron.toml`` or the path in ``HERON_CONFIG``; its keys are the setting
names in lower case. A bad value stops start-up with a ``ConfigError`` that names the
setting and the value.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from heron.errors import ConfigError

_NAME = r"^[a-z][a-z0-9-]{0,31}$"
# Where heron moves copies on a Dovecot server, by location.
DEFAULT_IMAP_FOLDERS = {
    "inbox": "INBOX",
    "junk": "Junk",
    "deleted": "Recoverable Items",
    "quarantine": "Quarantine",
}


def plausible_login(user: str, separator: str) -> bool:
    """A mailbox login heron may put before the master user's name."""
    return (
        0 < len(user) <= 320
        and "@" in user
        and separator not in user
        and not any(c.isspace() or ord(c) < 32 for c in user)
    )


class _ConnectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME, description="How mailboxes and logs name it")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds per network call")


class DovecotSettings(_ConnectorSettings):
    """A Dovecot server reached over IMAP (mail, delegations) and ManageSieve
    (forwarding), logging in as each user through a master user."""

    type: Literal["dovecot"]
    host: str = Field("127.0.0.1", min_length=1, max_length=253)
    imap_port: int = Field(993, ge=1, le=65535)
    imap_tls: Literal["implicit", "starttls", "none"] = "implicit"
    sieve_port: int = Field(4190, ge=1, le=65535)
    sieve_tls: Literal["implicit", "starttls", "none"] = "starttls"
    ca_file: Path | None = None
    allow_plaintext: bool = Field(
        False, description="Allow imap_tls or sieve_tls 'none' (a loopback lab only)"
    )
    master_user: str = Field(min_length=1, max_length=320)
    master_separator: str = Field("*", min_length=1, max_length=4)
    password_env: str = ""
    password_file: Path | None = None
    users: list[str] = Field(default_factory=list)
    users_file: Path | None = None
    folders: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_IMAP_FOLDERS))
    max_message_bytes: int = Field(50 * 1024 * 1024, ge=1024, le=1024**3)

    @model_validator(mode="after")
    def _tls_unless_allowed(self) -> DovecotSettings:
        plain = [n for n in ("imap_tls", "sieve_tls") if getattr(self, n) == "none"]
        if plain and not self.allow_plaintext:
            raise ValueError(
                f"connector {self.name}: {', '.join(plain)} 'none' sends the master "
                "password in the clear; use TLS, or set allow_plaintext = true for a "
                "loopback test server"
            )
        unknown = sorted(set(self.folders) - set(DEFAULT_IMAP_FOLDERS))
        if unknown:
            raise ValueError(
                f"connector {self.name}: folders for unknown locations {unknown}; "
                f"known: {sorted(DEFAULT_IMAP_FOLDERS)}"
            )
        self.folders = {**DEFAULT_IMAP_FOLDERS, **self.folders}
        for user in self.users:
            if not plausible_login(user, self.master_separator):
                raise ValueError(
                    f"connector {self.name}: user {user[:80]!r} is not a login heron "
                    f"can use (no spaces, no {self.master_separator!r}, an @)"
                )
        return self


class PostfixSettings(_ConnectorSettings):
    """A Postfix server whose ``check_sender_access`` map heron keeps."""

    type: Literal["postfix"]
    access_map: Path = Field(description="The map's source file; heron runs postmap")
    map_type: str = Field("hash", pattern=r"^(hash|btree|lmdb|cdb|dbm|sdbm)$")
    postmap: str = "postmap"
    config_dir: Path | None = Field(
        None, description="Postfix's configuration folder (postfix -c), if not /etc"
    )
    hold_queued: bool = Field(
        False, description="Block sender also holds mail from it already queued"
    )
    reload: bool = Field(
        True,
        description="Run 'postfix reload' after changing the map, so that SMTP "
        "processes already running read it at once",
    )


class GraphSettings(_ConnectorSettings):
    """A Microsoft 365 tenant reached through Microsoft Graph."""

    type: Literal["graph"]
    tenant_id: str = Field(min_length=1, max_length=200)
    client_id: str = Field(min_length=1, max_length=200)
    secret_env: str = ""
    secret_file: Path | None = None
    authority: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    users: list[str] = Field(default_factory=list)


class ManagementApiSettings(_ConnectorSettings):
    """The Office 365 Management Activity API: audit records, pulled."""

    type: Literal["management-api"]
    tenant_id: str = Field(min_length=1, max_length=200)
    client_id: str = Field(min_length=1, max_length=200)
    secret_env: str = ""
    secret_file: Path | None = None
    authority: str = "https://login.microsoftonline.com"
    api_url: str = "https://manage.office.com"
    content_types: list[str] = Field(
        default_factory=lambda: [
            "Audit.Exchange",
            "Audit.General",
            "Audit.AzureActiveDirectory",
        ]
    )
    first_hours: float = Field(
        24.0,
        gt=0,
        le=168,
        description="How far back the first pull reaches (at most 7 days)",
    )


ConnectorSettings = Annotated[
    DovecotSettings | PostfixSettings | GraphSettings | ManagementApiSettings,
    Field(discriminator="type"),
]


# What heron notifies about; a webhook lists the ones it wants.
NOTIFICATION_EVENTS = ("actions.pending", "investigation.finished")


class WebhookSettings(BaseModel):
    """A receiver of heron's notifications, signed with HMAC-SHA256."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret_env: str = ""
    secret_file: Path | None = None
    events: list[str] = Field(
        default_factory=lambda: list(NOTIFICATION_EVENTS),
        description="Which notifications it receives",
    )
    timeout: float = Field(10.0, gt=0, le=120)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(NOTIFICATION_EVENTS))
        if unknown:
            raise ValueError(
                f"unknown events {unknown}; known: {list(NOTIFICATION_EVENTS)}"
            )
        return value


class SmtpSettings(BaseModel):
    """The mail server heron sends notifications and reporter feedback through."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(587, ge=1, le=65535)
    tls: Literal["implicit", "starttls", "none"] = "starttls"
    ca_file: Path | None = None
    username: str = ""
    password_env: str = ""
    password_file: Path | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    timeout: float = Field(30.0, gt=0, le=300)


# The fields a feedback template may use.
_FEEDBACK_FIELDS = {
    "subject": "",
    "reported_at": "",
    "verdict": "",
    "outcome": "",
    "investigation_id": "",
    "reporter": "",
}
# Scheduled jobs of `heron serve` and their default intervals, in minutes.
DEFAULT_SCHEDULE = {
    "process": 1.0,
    "poll": 5.0,
    "rescan": 60.0,
    "intel": 60.0,
    "expire": 5.0,
    "clusters": 30.0,
    "notify": 1.0,
    "feed": 1.0,
    "retention": 1440.0,
}
DEFAULT_FEEDBACK_SUBJECT = "Your report: {subject}"
DEFAULT_FEEDBACK_BODY = (
    'Thank you for reporting the message "{subject}" ({reported_at}).\n\n'
    "The security team's investigation is finished: {outcome}\n"
)


class Settings(BaseSettings):
    """heron's settings. Read them with ``load_settings``."""

    model_config = SettingsConfigDict(env_prefix="HERON_", extra="forbid")

    home: Path = Field(
        Path(".heron"), description="Folder for the database, blobs, mail"
    )
    database_url: str = Field("", description="SQLAlchemy URL; default SQLite in home")
    operator: str = Field(
        default_factory=lambda: os.environ.get("USER") or "operator",
        min_length=1,
        max_length=200,
        description="Name recorded as the decider of actions taken on the command line",
    )
    intel_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Intel feed files or folders to load"
    )
    yara_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="YARA rule files or folders, matched besides heron's own rules",
    )
    sigma_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Sigma rule files or folders: custom alert policies over audit "
        "records (heron sigma list shows which it evaluates)",
    )
    trusted_authserv_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="authserv-ids whose Authentication-Results heron trusts; empty "
        "means the topmost header only",
    )
    org_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="The organisation's own mail domains"
    )
    partner_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Domains of partners and suppliers whose lookalikes are impersonation",
    )
    vip_names: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Names of people whose name on outside mail is impersonation",
    )
    dns_records: Path | None = Field(
        None,
        description="JSON file of DNS records (TXT, A, MX...) for verifying DKIM, SPF, "
        "ARC and reading DMARC records without a network",
    )
    dns_resolver: str = Field(
        "",
        description="A resolver (host[:port]) heron may ask for the DNS records the "
        "records file does not hold; empty means none",
    )
    trusted_arc_sealers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Domains whose ARC seals heron believes: a DMARC pass they "
        "recorded before forwarding broke it counts as a pass",
    )
    url_shorteners: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Link shorteners, besides heron's own list, whose links are flagged",
    )
    free_hosting: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts where anyone can publish a page, besides heron's own list",
    )
    file_sharing: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="File-transfer hosts, besides heron's own list",
    )
    action_expiry_days: float = Field(
        7.0, gt=0, le=3650, description="Days before pending actions expire"
    )
    merge_window_hours: float = Field(
        72.0,
        gt=0,
        le=24 * 3650,
        description="An alert joins an open investigation this recent",
    )
    alert_aggregation_minutes: float = Field(
        60.0,
        ge=0,
        le=7 * 24 * 60,
        description="Events for the same policy and entities within this many "
        "minutes count into one alert (0: every event its own alert)",
    )
    cluster_lookback_days: float = Field(
        30.0,
        gt=0,
        le=3650,
        description="Clusters look for copies received this many days before the "
        "investigated message, and since",
    )
    cluster_malicious_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a similarity cluster's copies known to be malicious "
        "that makes the cluster malicious",
    )
    cluster_max_members: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Copies a cluster keeps as members; its counts cover them all",
    )
    volume_baseline_days: int = Field(
        10,
        ge=7,
        le=10,
        description="Days before a cluster's last day its volume is compared with",
    )
    security_mailboxes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The security team's mailboxes: left out of clusters and actions",
    )
    phish_sim_mailboxes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Phishing-simulation mailboxes: left out of clusters and actions",
    )
    scoring_weights: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description="Points per finding, keyed 'analyzer' or 'analyzer/code'; a finding "
        "no key names is worth its severity's points (low 1, medium 2, high 6)",
    )
    suspicious_points: int = Field(
        2, ge=1, le=1000, description="Points that make an entity suspicious"
    )
    malicious_points: int = Field(
        6, ge=1, le=1000, description="Points that make an entity malicious"
    )
    connectors: list[ConnectorSettings] = Field(
        default_factory=list,
        description="Mail systems heron reads and acts on ([[connectors]] tables, or "
        "JSON in HERON_CONNECTORS); see docs/connectors.md",
    )
    two_person_rule: bool = Field(
        False,
        description="Whoever started an investigation or proposed an action may not "
        "approve it",
    )
    local_users: dict[str, str] = Field(
        default_factory=dict,
        description="The heron user each login of this machine acts as on the command "
        "line, when HERON_TOKEN is not set",
    )
    tenant_id: str = Field(
        "",
        description="The organisation's GUID in the activity feed's paths and records; "
        "default: one derived from the first organisation domain",
    )
    public_url: str = Field(
        "http://127.0.0.1:8080",
        pattern=r"^https?://",
        description="Where people reach heron's API: links in records and mail",
    )
    api_max_body_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="The largest request body the API reads",
    )
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    smtp: SmtpSettings | None = None
    feed_webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses (prefixes) an activity-feed subscription may name as its "
        "webhook; none by default, so a subscription cannot make heron call anywhere",
    )
    notify_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Who gets mail about pending actions and finished investigations",
    )
    reporter_feedback: bool = Field(
        False, description="Mail the reporter once the investigation is final"
    )
    feedback_subject: str = Field(DEFAULT_FEEDBACK_SUBJECT, max_length=500)
    feedback_body: str = Field(DEFAULT_FEEDBACK_BODY, max_length=20000)
    schedule: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SCHEDULE),
        description="Minutes between runs of each job of `heron serve`; 0 turns one off",
    )
    retention_raw_mail_days: float = Field(
        0, ge=0, le=36500, description="Purge raw mail older than this; 0 keeps it"
    )
    retention_investigation_days: float = Field(
        0,
        ge=0,
        le=36500,
        description="Purge finished investigations older than this; 0 keeps them",
    )
    workers: int = Field(4, ge=1, le=64, description="In-process worker threads")
    log_format: str = Field("text", description="text or json")

    @field_validator(
        "intel_paths",
        "yara_paths",
        "sigma_paths",
        "trusted_authserv_ids",
        "org_domains",
        "partner_domains",
        "vip_names",
        "trusted_arc_sealers",
        "url_shorteners",
        "free_hosting",
        "file_sharing",
        "security_mailboxes",
        "phish_sim_mailboxes",
        "notify_emails",
        "feed_webhook_urls",
        mode="before",
    )
    @classmethod
    def _list_from_text(cls, value: object) -> object:
        """Lists come from the environment as JSON or as comma-separated text."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]

    @field_validator(
        "org_domains",
        "partner_domains",
        "trusted_arc_sealers",
        "url_shorteners",
        "free_hosting",
        "file_sharing",
    )
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for domain in value:
            if not re.fullmatch(r"(?:[a-z0-9-]+\.)+[a-z0-9-]+", domain.strip().lower()):
                raise ValueError(f"{domain!r} is not a domain name")
        return [d.strip().lower() for d in value]

    @field_validator("schedule")
    @classmethod
    def _known_jobs(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_SCHEDULE))
        if unknown:
            raise ValueError(f"unknown jobs {unknown}; known: {list(DEFAULT_SCHEDULE)}")
        for name, minutes in value.items():
            if not 0 <= minutes <= 7 * 24 * 60:
                raise ValueError(f"{name}: minutes must lie between 0 and 10080")
        return {**DEFAULT_SCHEDULE, **value}

    @field_validator("tenant_id")
    @classmethod
    def _guid(cls, value: str) -> str:
        if value and not re.fullmatch(
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            value,
        ):
            raise ValueError(f"{value[:60]!r} is not a GUID")
        return value.lower()

    @field_validator("feedback_subject", "feedback_body")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format_map(_FEEDBACK_FIELDS)
        except (KeyError, ValueError, IndexError, AttributeError) as exc:
            raise ValueError(
                f"the template cannot be filled ({exc}); fields: "
                + ", ".join("{" + k + "}" for k in _FEEDBACK_FIELDS)
            ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _replaced_settings(cls, values: Any) -> Any:
        if isinstance(values, dict) and "purge_approvers" in values:
            raise ValueError(
                "purge_approvers is replaced by the purge permission of heron users: "
                "`heron users add NAME --role approver --purge`"
            )
        return values

    @field_validator("security_mailboxes", "phish_sim_mailboxes", "notify_emails")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(
                r"[^@\s]+@(?:[a-z0-9-]+\.)+[a-z0-9-]+", address.strip().lower()
            ):
                raise ValueError(f"{address!r} is not a mail address")
        return [a.strip().lower() for a in value]

    @field_validator("connectors")
    @classmethod
    def _unique_names(cls, value: list[Any]) -> list[Any]:
        names = [c.name for c in value]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"connector names must differ: {doubled} used twice")
        if "maildir" in names or "none" in names:
            raise ValueError("'maildir' and 'none' are heron's own connector names")
        return value

    @field_validator("dns_records", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        """An empty HERON_DNS_RECORDS means no records file, not the current folder."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("scoring_weights", mode="before")
    @classmethod
    def _weights_from_text(cls, value: object) -> object:
        """Weights come from the environment as JSON or as ``key=points,...`` text."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("{"):
            return json.loads(text)
        pairs = [item.partition("=") for item in text.split(",") if item.strip()]
        for key, equals, _ in pairs:
            if not equals:
                raise ValueError(
                    f"{key.strip()!r} is not key=points (e.g. links/shortener=3)"
                )
        return {key.strip(): points.strip() for key, _, points in pairs}

    @field_validator("scoring_weights")
    @classmethod
    def _weight_keys(cls, value: dict[str, int]) -> dict[str, int]:
        for key, points in value.items():
            if not re.fullmatch(r"[a-z0-9-]+(?:/[a-z0-9-]+)?", key):
                raise ValueError(f"{key!r} is not 'analyzer' or 'analyzer/code'")
            if not -1000 <= points <= 1000:
                raise ValueError(f"{key!r}: points must lie between -1000 and 1000")
        return value

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Settings:
        if self.suspicious_points > self.malicious_points:
            raise ValueError(
                "HERON_SUSPICIOUS_POINTS (suspicious_points) must not exceed "
                "HERON_MALICIOUS_POINTS (malicious_points): "
                f"{self.suspicious_points} > {self.malicious_points}"
            )
        return self

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        if value.startswith("sqlite"):
            path = value.partition(":///")[2].partition("?")[0]
            if not path or path == ":memory:":
                raise ValueError(
                    "needs a file (sqlite:///path/to/heron.db): an in-memory database "
                    "forgets everything when the command ends"
                )
        return value

    @property
    def action_expiry(self) -> timedelta:
        return timedelta(days=self.action_expiry_days)

    @property
    def merge_window(self) -> timedelta:
        return timedelta(hours=self.merge_window_hours)

    @property
    def alert_aggregation(self) -> timedelta:
        return timedelta(minutes=self.alert_aggregation_minutes)

    @property
    def cluster_lookback(self) -> timedelta:
        return timedelta(days=self.cluster_lookback_days)

    @property
    def excluded_mailboxes(self) -> tuple[str, ...]:
        """Mailboxes clusters and actions leave alone."""
        return tuple(sorted({*self.security_mailboxes, *self.phish_sim_mailboxes}))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'heron.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the config file, the environment and ``overrides``.

    Raises ConfigError naming the setting when a value is bad.
    """
    file_values = _read_config_file()
    _refuse_unknown_environment()
    try:
        env_names = {
            k[len("HERON_") :].lower() for k in os.environ if k.startswith("HERON_")
        }
        merged = {k: v for k, v in file_values.items() if k not in env_names}
        merged.update(overrides)
        return Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (SettingsError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"a setting could not be read from the environment: {exc}"
        ) from None


# HERON_ variables that are not settings: the config file's path, the test suite's,
# Connectors may name HERON_SECRET_* variables for their credentials; HERON_TOKEN
# is the command line's API token (who it acts as), not a setting.
NOT_SETTINGS = ("HERON_CONFIG", "HERON_TEST_", "HERON_SECRET_", "HERON_TOKEN")


def _refuse_unknown_environment() -> None:
    """A misspelt HERON_ variable stops start-up, as a misspelt config key does."""
    known = {f"HERON_{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(
        name
        for name in os.environ
        if name.startswith("HERON_")
        and name not in known
        and not name.startswith(NOT_SETTINGS)
    )
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(unknown)} in the environment; "
            "unset it; `heron settings` lists the known ones"
        )


def _read_config_file() -> dict[str, Any]:
    explicit = os.environ.get("HERON_CONFIG")
    home = Path(os.environ.get("HERON_HOME", ".heron"))
    path = Path(explicit) if explicit else home / "heron.toml"
    if not path.exists():
        if explicit:
            raise ConfigError(f"HERON_CONFIG: no file at {path}")
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"config file {path}: cannot be read ({exc.strerror})"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    values.pop("config", None)
    return values


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"])
        value = error.get("input")
        if not name:
            lines.append(f"settings do not agree: {error['msg']}")
            continue
        if name.startswith("connectors"):
            # A connector's table may hold a credential: its values are not echoed.
            lines.append(f"connector setting {name}: {error['msg']}")
            continue
        if error["type"] == "extra_forbidden":
            lines.append(
                f"unknown setting {name!r} (in the config file or the environment)"
            )
            continue
        lines.append(
            f"setting HERON_{name.upper()} ({name}) has a bad value {value!r}: {error['msg']}"
        )
    return "; ".join(lines)
