"""The exchange endpoint's settings, from the environment (README, "The 1C exchange endpoint").

1C's credentials: ``ONEC_EXCHANGE_USER`` and one of ``ONEC_EXCHANGE_PASSWORD`` (plain),
``ONEC_EXCHANGE_PASSWORD_FILE`` (a file holding it, e.g. a Docker secret) or ``ONEC_EXCHANGE_PASSWORD_HASH``
(``pbkdf2_sha256$<iterations>$<salt>$<hex digest>``, made by ``onec-pipeline exchange hash-password``). There is no
default: :meth:`ExchangeConfig.from_env` refuses to build without them and says what to set.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from onec_pipeline.settings import Settings

DEFAULT_FILE_LIMIT = 104_857_600  # what the old endpoint told 1C (100 MiB per request)
HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 260_000


class ConfigError(ValueError):
    """The exchange cannot start: the message says which variable to set."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _flag(name: str, default: bool) -> bool:
    value = _env(name, "yes" if default else "no").lower()
    if value in ("1", "yes", "true", "on"):
        return True
    if value in ("0", "no", "false", "off"):
        return False
    raise ConfigError(f"{name}={value!r}: say yes or no")


def _number(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value


def hash_password(password: str, *, salt: str | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex>``: what ``ONEC_EXCHANGE_PASSWORD_HASH`` takes."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"{HASH_SCHEME}${iterations}${salt}${digest}"


@dataclass(frozen=True)
class Credentials:
    """1C's user and password (or the password's hash); compared in constant time."""

    user: str
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)

    def check(self, user: str, password: str) -> bool:
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        if self.password_hash is not None:
            same_password = _check_hash(self.password_hash, password)
        else:
            same_password = hmac.compare_digest(password.encode(), (self.password or "").encode())
        return same_user and same_password and bool(password) and bool(self.user)


def _check_hash(stored: str, password: str) -> bool:
    scheme, iterations, salt, digest = stored.split("$", 3)
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations)).hex()
    return scheme == HASH_SCHEME and hmac.compare_digest(computed, digest)


def _credentials() -> Credentials:
    user = _env("ONEC_EXCHANGE_USER")
    if not user:
        raise ConfigError("set ONEC_EXCHANGE_USER: the user name 1C's exchange node sends")
    password_hash = _env("ONEC_EXCHANGE_PASSWORD_HASH")
    if password_hash:
        parts = password_hash.split("$")
        if len(parts) != 4 or parts[0] != HASH_SCHEME or not parts[1].isdigit():
            raise ConfigError(
                "ONEC_EXCHANGE_PASSWORD_HASH must read pbkdf2_sha256$<iterations>$<salt>$<hex> "
                "(onec-pipeline exchange hash-password makes one)"
            )
        return Credentials(user, password_hash=password_hash)
    password_file = _env("ONEC_EXCHANGE_PASSWORD_FILE")
    if password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"ONEC_EXCHANGE_PASSWORD_FILE={password_file}: {exc.strerror}") from None
    else:
        password = os.environ.get("ONEC_EXCHANGE_PASSWORD", "")
    if not password:
        raise ConfigError(
            "set ONEC_EXCHANGE_PASSWORD (or ONEC_EXCHANGE_PASSWORD_FILE / ONEC_EXCHANGE_PASSWORD_HASH): "
            "the password 1C's exchange node sends"
        )
    return Credentials(user, password=password)


@dataclass(frozen=True)
class ExchangeConfig:
    """Everything the endpoint needs; ``from_env`` reads it, tests build it directly."""

    credentials: Credentials
    import_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    zip: bool = True  # ONEC_EXCHANGE_ZIP: tell 1C it may send one zip
    file_limit: int = DEFAULT_FILE_LIMIT  # ONEC_EXCHANGE_FILE_LIMIT: bytes per mode=file request
    encoding: str = "utf-8"  # ONEC_EXCHANGE_ENCODING: utf-8 | windows-1251 (old 1C configurations)
    session_seconds: float = 3600.0  # ONEC_EXCHANGE_SESSION_SECONDS: a session cookie's lifetime
    max_failures: int = 5  # ONEC_EXCHANGE_MAX_FAILURES failed logins per client per window, then refused
    failure_window: float = 300.0  # ONEC_EXCHANGE_FAILURE_WINDOW seconds
    export_idle_seconds: float = 600.0  # ONEC_EXCHANGE_EXPORT_IDLE_SECONDS: an open segmented export closes
    delta_idle_seconds: float = (
        30.0  # ONEC_EXCHANGE_DELTA_IDLE_SECONDS: the same for an export of changes only
    )
    sensor_wait_seconds: float = 1800.0  # failure when the sensor has not taken an upload after this long
    catalog_version: str = "3.1"  # the `version=` answered to type=catalog init
    sale_version: str = "2.09"  # the `version=` answered to type=sale init

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> ExchangeConfig:
        settings = settings or Settings.from_env()
        encoding = _env("ONEC_EXCHANGE_ENCODING", "utf-8").lower()
        if encoding not in ("utf-8", "windows-1251"):
            raise ConfigError(f"ONEC_EXCHANGE_ENCODING={encoding!r}: utf-8 or windows-1251")
        return cls(
            credentials=_credentials(),
            import_dir=settings.import_dir,
            archive_dir=settings.archive_dir,
            quarantine_dir=settings.quarantine_dir,
            zip=_flag("ONEC_EXCHANGE_ZIP", True),
            file_limit=int(_number("ONEC_EXCHANGE_FILE_LIMIT", DEFAULT_FILE_LIMIT)) or DEFAULT_FILE_LIMIT,
            encoding=encoding,
            session_seconds=_number("ONEC_EXCHANGE_SESSION_SECONDS", 3600),
            max_failures=int(_number("ONEC_EXCHANGE_MAX_FAILURES", 5)),
            failure_window=_number("ONEC_EXCHANGE_FAILURE_WINDOW", 300),
            export_idle_seconds=_number("ONEC_EXCHANGE_EXPORT_IDLE_SECONDS", 600),
            delta_idle_seconds=_number("ONEC_EXCHANGE_DELTA_IDLE_SECONDS", 30),
            sensor_wait_seconds=settings.stuck_seconds,
        )
