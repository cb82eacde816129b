"""Loading and validating the TOML configuration.

The dataclasses below *are* the schema: every key an administrator may write is a field, and
`load_config` checks names and types against them, so a typo fails at start-up with one line
that names the file, the key and the problem, instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from .dutch import decimal
from .errors import UsageError
from .timeutil import AMSTERDAM
from .tomlfile import TomlError, read_toml

# looked for in the working folder, in this order, when neither --config nor HARVESTER_CONFIG says
# which file: what `harvester init` writes, then the repository's layout
CONFIG_CANDIDATES = (Path("harvester.toml"), Path("config/harvester.toml"))
CONFIG_ENV = "HARVESTER_CONFIG"
DB_ENV = "HARVESTER_DB"
# the themes, training texts and initiatives the package carries: harvester/defaults/ in an installed package
# (the build maps the repository's config/ there, see setup.py); in a checkout, config/ itself
_PACKAGE = Path(__file__).resolve().parent
DEFAULTS = _PACKAGE / "defaults" if (_PACKAGE / "defaults").is_dir() else _PACKAGE.parent / "config"
# the longest periods a setting may name, far beyond any use and well within what date arithmetic
# and the scheduler hold (a year 1,000,000 days from now does not exist)
MAX_DAYS = 36500            # a hundred years: as good as "never" for retention
MAX_HOURS = 87600.0         # ten years, for the schedule's intervals
MAX_SECONDS = 86400.0       # a day, for a request's time-outs and waits (a socket refuses ~1e12)
# retries ride out a brief hiccup within a run; past that, the source's next run tries again. The
# pause doubles on each further try, so the pauses of one request together have a ceiling as well
MAX_RETRIES = 10
MAX_RETRY_BACKOFF_SECONDS = 60.0    # the first pause
MAX_RETRY_PAUSES = 3600.0           # all pauses of one request: an hour, longer than most sources' interval
# a candidate initiative's authors: far more people than any consultation reaches, so no real
# setting is refused, and well within the 64-bit integers SQLite compares the count with
MAX_AUTHORS = 100_000
# an editor's decision repeats this many times among the training texts: past a few dozen one post
# outweighs a theme's written texts (weight 20 already cost real writing, docs/nlp-log.md, "Ninth
# round"), and a huge weight fills memory with copies before training starts
MAX_DECISION_WEIGHT = 50
# redirects a request follows: a real move takes one or two; a negative count refused every
# redirect as "te veel doorverwijzingen (meer dan -1)"
MAX_REDIRECTS = 20
# a response is held in memory whole; a limit near float's largest overflowed as a count of bytes
MAX_RESPONSE_MB = 1024.0


class ConfigError(UsageError):
    """A configuration problem, phrased as one line for the person editing the file."""

    kind = "configuratiefout"

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: {key}: {problem}" if key else f"{path}: {problem}")


@dataclass(frozen=True)
class HarvestConfig:
    tags: list[str] = field(default_factory=lambda: ["innoverheid", "lanceerplatform"])
    user_agent_contact: str = "https://github.com/innoverheid/harvester"
    # per network step (connecting, each read): a server silent this long has timed out
    timeout_seconds: float = 20.0
    # a whole request, body included: a server that drips its answer byte by byte keeps every read
    # within timeout_seconds, and would otherwise hold the source's job for as long as it likes
    max_request_seconds: float = 60.0
    max_response_mb: float = 10.0
    max_redirects: int = 5
    retries: int = 3
    # first pause between retries; it doubles on each further try
    retry_backoff_seconds: float = 1.0
    # longest wait for a Retry-After or rate-limit reset before the source is given up for this run
    max_wait_seconds: float = 120.0
    # Mastodon and Bluesky: how far back the first run goes, and how many pages one run may fetch
    # per tag group (Bluesky: per tag) after the newest page (the rest follows in the next run)
    backfill_days: int = 30
    max_pages: int = 50
    # Mastodon and Bluesky: how many days back `harvester recheck` looks for deleted posts
    recheck_days: int = 14
    # Mastodon: also skip accounts that set `indexable: false` (trade-off: README.md, section Mastodon)
    honour_indexable: bool = False


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "data/harvester.db"


@dataclass(frozen=True)
class NlpConfig:
    # directory of a trained pipeline; empty means the model shipped with the package
    model: str = ""
    # empty: the themes file the package carries
    themes: str = ""
    # labelled examples `harvester train` learns from (JSON lines: {"text": ..., "themes": [...]});
    # empty: the training texts the package carries
    training: str = ""
    # how many times an editor's decision counts beside one written training text
    decision_weight: int = 5
    # the background job trains a new model once this many decisions came in since the active one
    retrain_after: int = 50


@dataclass(frozen=True)
class InitiativesConfig:
    # the initiatives posts are matched with; empty: the list the package carries
    file: str = ""
    # a hashtag, account, domain or name becomes a candidate once this many authors used it
    min_authors: int = 2


@dataclass(frozen=True)
class ScheduleConfig:
    recheck_hours: float = 24.0
    purge_hours: float = 24.0
    jitter_seconds: float = 30.0
    # a source that keeps failing waits interval * 2^failures, but never longer than this
    max_backoff_hours: float = 12.0


@dataclass(frozen=True)
class PrivacyConfig:
    # posts never accepted by an editor are purged after this many days
    retention_days: int = 180
    # accepted ideas keep their text, but their author is pseudonymised after this many days
    pseudonymize_accepted_after_days: int = 365
    # environment variable holding the key for pseudonyms and suppression hashes
    secret_env: str = "HARVESTER_SECRET"


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    # set when the app is served behind https, so cookies get the Secure flag
    https: bool = False
    # largest request body the app reads (forms are small; see docs/security.md)
    max_body_kb: int = 256
    # password hashes (argon2, 64 MiB each) the login runs at once; four times as many wait, the rest get 429
    login_hashes_at_once: int = 2


@dataclass(frozen=True)
class FeedSource:
    name: str
    url: str
    type: str = "feed"
    interval_minutes: float = 60.0
    # "tags": keep entries carrying a configured tag; "all": keep every entry
    match: str = "tags"
    # an IANA name: the zone of the feed's times that name none (Dutch feeds write local time so)
    time_zone: str = AMSTERDAM.key
    enabled: bool = True

    @property
    def location(self) -> str:
        return self.url


@dataclass(frozen=True)
class MastodonSource:
    name: str
    instance: str
    type: str = "mastodon"
    interval_minutes: float = 15.0
    # name of the environment variable holding an access token (optional)
    token_env: str = ""
    enabled: bool = True

    @property
    def location(self) -> str:
        return self.instance


@dataclass(frozen=True)
class BlueskySource:
    name: str
    # where the account signs in; bsky.social passes app.bsky.* calls on to Bluesky's AppView
    service: str = "https://bsky.social"
    type: str = "bluesky"
    interval_minutes: float = 15.0
    # names of the environment variables holding the account's handle and an app password (never
    # the values themselves): post search needs a signed-in account
    handle_env: str = "BLUESKY_HANDLE"
    app_password_env: str = "BLUESKY_APP_PASSWORD"
    enabled: bool = True

    @property
    def location(self) -> str:
        return self.service


Source = FeedSource | MastodonSource | BlueskySource
SOURCE_TYPES: dict[str, type] = {"feed": FeedSource, "mastodon": MastodonSource, "bluesky": BlueskySource}
# the usual form, in capitals: a token pasted in by mistake (random base64) holds lower-case letters
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


@dataclass(frozen=True)
class Config:
    path: Path | None             # None: no config file, the built-in defaults
    harvest: HarvestConfig = field(default_factory=HarvestConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    nlp: NlpConfig = field(default_factory=NlpConfig)
    initiatives: InitiativesConfig = field(default_factory=InitiativesConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    web: WebConfig = field(default_factory=WebConfig)
    sources: list[Source] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        """Configured tags, lower-cased and without '#'."""
        return [t.lstrip("#").lower() for t in self.harvest.tags]

    @property
    def db_path(self) -> Path:
        """The database file: HARVESTER_DB wins, else [database] path (already relative to the config's folder)."""
        return Path(os.environ.get(DB_ENV) or self.database.path)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def config_path(explicit: str | Path | None = None) -> Path | None:
    """Which config file to read: --config, else HARVESTER_CONFIG, else harvester.toml or
    config/harvester.toml in the working folder; None when there is none (the built-in defaults)."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen)
    return next((p for p in CONFIG_CANDIDATES if p.is_file()), None)


def load_config(path: str | Path | None = None) -> Config:
    """The config file (see `config_path`), or the built-in defaults when there is none."""
    path = config_path(path)
    if path is None:
        return parse_config({}, None)
    try:
        raw, _ = read_toml(path)
    except FileNotFoundError:
        raise ConfigError(path, "", "bestand niet gevonden") from None
    except TomlError as e:
        raise ConfigError(path, "", str(e)) from None
    return parse_config(raw, path)


def parse_config(raw: dict, path: Path | None) -> Config:
    """Check `raw` and build the Config; relative paths in it are taken from the file's folder."""
    where = path if path is not None else "(standaardinstellingen)"
    sections = {f.name: f.type for f in dataclasses.fields(Config) if f.name not in ("path", "sources")}
    for key in raw:
        if key not in sections and key != "sources":
            raise ConfigError(where, key, f"onbekende sectie (bekend: {', '.join(sorted([*sections, 'sources']))})")
    hints = typing.get_type_hints(Config)
    values = {}
    for name in sections:
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(where, name, "moet een tabel zijn, zoals [" + name + "]")
        values[name] = _build(hints[name], table, where, name)
    values["sources"] = _parse_sources(raw.get("sources", []), where)
    config = Config(path=path, **values)
    _check(config, where)
    return _resolve_paths(_ascii_contact(config, where))


def _ascii_contact(config: Config, path: Path | str) -> Config:
    """The config with `user_agent_contact` as the User-Agent header can carry it: a header holds
    ASCII only, so an address such as https://gemeente-súdwest.nl/contact has its host in IDNA form
    and the rest percent-encoded, as a browser sends it; else every request would fail."""
    contact = config.harvest.user_agent_contact
    if contact.isascii():
        return config
    try:
        contact = str(httpx.URL(contact))
    except httpx.InvalidURL:
        raise ConfigError(path, "harvest.user_agent_contact", f"geen bruikbaar webadres: {contact!r}") from None
    return dataclasses.replace(config, harvest=dataclasses.replace(config.harvest, user_agent_contact=contact))


def _resolve_paths(config: Config) -> Config:
    """Relative paths in a config file count from the file's folder (without a file: the working
    folder); unset themes and training files are the ones the package carries."""
    base = config.path.parent if config.path is not None else Path()

    def beside(value: str) -> str:
        return str(base / value) if value and not Path(value).is_absolute() else value

    nlp = dataclasses.replace(
        config.nlp, model=beside(config.nlp.model),
        themes=beside(config.nlp.themes) or str(DEFAULTS / "themes.toml"),
        training=beside(config.nlp.training) or str(DEFAULTS / "training.jsonl"),
    )
    database = dataclasses.replace(config.database, path=beside(config.database.path))
    initiatives = dataclasses.replace(config.initiatives,
                                      file=beside(config.initiatives.file) or str(DEFAULTS / "initiatives.toml"))
    return dataclasses.replace(config, nlp=nlp, database=database, initiatives=initiatives)


def _parse_sources(items: object, path: Path | str) -> list[Source]:
    if not isinstance(items, list):
        raise ConfigError(path, "sources", "schrijf bronnen als [[sources]]-tabellen")
    sources: list[Source] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"sources[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(path, where, "moet een tabel zijn")
        kind = item.get("type")
        if kind not in SOURCE_TYPES:
            raise ConfigError(path, f"{where}.type", f"moet een van {', '.join(SOURCE_TYPES)} zijn, niet {kind!r}")
        source = _build(SOURCE_TYPES[kind], item, path, where)
        where = f"sources[{i}] ({source.name})"
        if source.name in seen:
            raise ConfigError(path, f"{where}.name", "deze bronnaam komt twee keer voor")
        if not source.name or not source.name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(path, f"{where}.name", "alleen letters, cijfers, '-' en '_'")
        seen.add(source.name)
        _check_period(source.interval_minutes, MAX_HOURS * 60, "tien jaar", path, f"{where}.interval_minutes")
        if isinstance(source, FeedSource):
            _check_url(source.url, path, f"{where}.url")
            if source.match not in ("tags", "all"):
                raise ConfigError(path, f"{where}.match", f'moet "tags" of "all" zijn, niet {source.match!r}')
            _check_zone(source.time_zone, path, f"{where}.time_zone")
        elif isinstance(source, MastodonSource):
            _check_url(source.instance, path, f"{where}.instance")
            if source.token_env:
                _check_env_name(source.token_env, path, f"{where}.token_env")
        else:
            _check_url(source.service, path, f"{where}.service")
            for key in ("handle_env", "app_password_env"):
                _check_env_name(getattr(source, key), path, f"{where}.{key}")
        sources.append(source)
    return sources


def _check_env_name(value: str, path: Path | str, key: str) -> None:
    """A key that names an environment variable holding a secret: a secret written in by mistake
    would otherwise be printed in every message that names the variable, and stored with the runs."""
    if not ENV_NAME.fullmatch(value):
        # the value is not repeated: it may be the secret itself
        raise ConfigError(path, key, "moet de naam van een omgevingsvariabele zijn, niet de waarde zelf: "
                          "schrijf de naam in hoofdletters, met cijfers en '_' (zoals MASTODON_TOKEN)")


def _check(config: Config, path: Path | str) -> None:
    if not config.harvest.tags:
        raise ConfigError(path, "harvest.tags", "minstens één tag nodig")
    for tag in config.harvest.tags:
        bare = tag.lstrip("#")
        if not bare or not all(c.isalnum() or c == "_" for c in bare):
            raise ConfigError(path, "harvest.tags", f"{tag!r} is geen hashtag")
    _check_url(config.harvest.user_agent_contact, path, "harvest.user_agent_contact")
    for key in ("timeout_seconds", "max_request_seconds", "max_wait_seconds"):
        _check_period(getattr(config.harvest, key), MAX_SECONDS, "een dag", path, f"harvest.{key}")
    _check_retries(config.harvest, path)
    _check_whole(config.harvest.max_redirects, 0, MAX_REDIRECTS, path, "harvest.max_redirects")
    if not 0 < config.harvest.max_response_mb <= MAX_RESPONSE_MB:
        raise ConfigError(path, "harvest.max_response_mb", f"moet groter zijn dan 0 en hoogstens {MAX_RESPONSE_MB:.0f} "
                          f"(een GB), niet {_shown(config.harvest.max_response_mb)}")
    if config.harvest.max_pages < 1:
        raise ConfigError(path, "harvest.max_pages", "moet minstens 1 zijn")
    for key in ("backfill_days", "recheck_days"):
        _check_whole(getattr(config.harvest, key), 1, MAX_DAYS, path, f"harvest.{key}", "honderd jaar")
    for key in ("recheck_hours", "purge_hours", "max_backoff_hours"):
        _check_period(getattr(config.schedule, key), MAX_HOURS, "tien jaar", path, f"schedule.{key}")
    if config.schedule.jitter_seconds < 0:
        raise ConfigError(path, "schedule.jitter_seconds", "mag niet negatief zijn")
    for key in ("retention_days", "pseudonymize_accepted_after_days"):
        _check_whole(getattr(config.privacy, key), 1, MAX_DAYS, path, f"privacy.{key}", "honderd jaar")
    _check_env_name(config.privacy.secret_env, path, "privacy.secret_env")
    if config.nlp.retrain_after < 1:
        raise ConfigError(path, "nlp.retrain_after", "moet minstens 1 zijn")
    _check_whole(config.nlp.decision_weight, 1, MAX_DECISION_WEIGHT, path, "nlp.decision_weight")
    if config.initiatives.min_authors < 2:
        raise ConfigError(path, "initiatives.min_authors", "moet minstens 2 zijn (één auteur die zich herhaalt is geen beweging)")
    _check_whole(config.initiatives.min_authors, 2, MAX_AUTHORS, path, "initiatives.min_authors")
    if not 0 < config.web.port < 65536:
        raise ConfigError(path, "web.port", "moet een poortnummer zijn")
    if config.web.login_hashes_at_once < 1:
        raise ConfigError(path, "web.login_hashes_at_once", "moet minstens 1 zijn")
    if config.web.max_body_kb < 16:
        raise ConfigError(path, "web.max_body_kb", "moet minstens 16 zijn")


def _check_period(value: float, most: float, spoken: str, path: Path | str, key: str) -> None:
    """A period within its limit; the numbers as a Dutch reader writes them (not 5.256e+06 or 0.5)."""
    if not 0 < value <= most:
        raise ConfigError(path, key, f"moet groter zijn dan 0 en hoogstens {most:.0f} ({spoken}), niet {_shown(value)}")


def _shown(value: float) -> str:
    """A setting's number in an error as the reader wrote it, in Dutch: 5256000 or 0,05."""
    return decimal(value, 0 if float(value).is_integer() else 2)


def _check_whole(value: int, least: int, most: int, path: Path | str, key: str, spoken: str = "") -> None:
    """A whole number within its bounds; `spoken` says what the ceiling means, where that helps."""
    if not least <= value <= most:
        ceiling = f"{most} ({spoken})" if spoken else str(most)
        raise ConfigError(path, key, f"moet minstens {least} en hoogstens {ceiling} zijn, niet {value}")


def _check_retries(harvest: HarvestConfig, path: Path | str) -> None:
    """Retries and their first pause each within bounds, and together: the pause doubles on every
    further try, so ten retries from a minute would hold the source's job for seventeen hours."""
    _check_whole(harvest.retries, 0, MAX_RETRIES, path, "harvest.retries")
    _check_period(harvest.retry_backoff_seconds, MAX_RETRY_BACKOFF_SECONDS, "een minuut", path,
                  "harvest.retry_backoff_seconds")
    pauses = harvest.retry_backoff_seconds * (2 ** harvest.retries - 1)
    if pauses > MAX_RETRY_PAUSES:
        raise ConfigError(path, "harvest.retries", (
            f"met {_shown(harvest.retry_backoff_seconds)} s als eerste pauze duren de pauzes van {harvest.retries} "
            f"extra pogingen samen {pauses / 60:.0f} minuten; dat mag hoogstens een uur zijn: kies minder pogingen "
            "of een kortere retry_backoff_seconds"))


def _check_zone(name: str, path: Path | str, key: str) -> None:
    try:
        ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):   # ValueError: no name at all ("", "../x"); OSError: "Europe"
        raise ConfigError(path, key, f"onbekende tijdzone {name!r}; schrijf een naam als \"Europe/Amsterdam\"") from None


def _check_url(url: str, path: Path | str, key: str) -> None:
    """An http(s) address without control characters: urlparse lets a tab, a newline or a NUL
    through, and a URL with one fails every run (or, in the User-Agent, splits the header)."""
    control = next((i for i, c in enumerate(url) if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise ConfigError(path, key, f"bevat een stuurteken (zoals een tab of regeleinde) op plaats {control + 1}: {url!r}")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(path, key, f"geen http(s)-URL: {url!r}")


def _build(cls: type, table: dict, path: Path | str, where: str):
    """Make dataclass `cls` from a TOML table, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(path, f"{where}.{key}", f"onbekende sleutel (bekend: {', '.join(fields)})")
    missing = [
        name for name, f in fields.items()
        if name not in table and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(path, f"{where}.{missing[0]}", "ontbreekt (verplicht)")
    values = {}
    for key, value in table.items():
        values[key] = _coerce(value, hints[key], path, f"{where}.{key}")
    return cls(**values)


def _coerce(value: object, hint: object, path: Path | str, key: str) -> object:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(path, key, f"moet een lijst zijn, niet {value!r}")
        return [_coerce(v, item, path, key) for v in value]
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported config type {hint}")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):   # TOML has inf and nan
        raise ConfigError(path, key, f"moet een eindig getal zijn, niet {value!r}")
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):  # type: ignore[arg-type]
        name = {str: "tekst", int: "een geheel getal", float: "een getal", bool: "true of false"}[hint]  # type: ignore[index]
        raise ConfigError(path, key, f"moet {name} zijn, niet {value!r}")
    return value
