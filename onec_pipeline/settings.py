"""Environment-driven settings shared by the CLI, the Dagster definitions and the tests.

Every variable has a default so that a fresh checkout runs with nothing configured:
everything lives under ``ONEC_HOME`` (default ``./var``) and the catalog is a SQLite file there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    home: Path
    import_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    outbox_dir: Path
    database_url: str
    db_schema: str
    settle_seconds: float
    retention_days: int
    stuck_seconds: float  # an upload incomplete and unchanged this long is reported stuck
    # media store (issue 15): product pictures kept once by content hash, served read-only at /media/
    media_dir: Path = Path("var/media")  # ONEC_MEDIA_DIR (default ONEC_HOME/media)
    media_max_bytes: int = 20_000_000  # ONEC_MEDIA_MAX_BYTES: a larger picture is rejected
    # intake reliability: an export time further than this ahead of an upload's arrival is not trusted
    # for the upload key (ONEC_FUTURE_TOLERANCE, seconds)
    future_tolerance_seconds: float = 86400.0

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(_env("ONEC_HOME", "./var")).resolve()
        return cls(
            home=home,
            import_dir=Path(_env("ONEC_IMPORT_DIR", str(home / "1c_import"))).resolve(),
            archive_dir=Path(_env("ONEC_ARCHIVE_DIR", str(home / "archive"))).resolve(),
            quarantine_dir=Path(_env("ONEC_QUARANTINE_DIR", str(home / "quarantine"))).resolve(),
            outbox_dir=Path(_env("ONEC_OUTBOX_DIR", str(home / "outbox"))).resolve(),
            database_url=_env("ONEC_DATABASE_URL", f"sqlite:///{home / 'catalog.sqlite3'}"),
            db_schema=_env("ONEC_DB_SCHEMA", "onec"),
            settle_seconds=float(_env("ONEC_SETTLE_SECONDS", "30")),
            retention_days=int(_env("ONEC_RETENTION_DAYS", "90")),
            stuck_seconds=float(_env("ONEC_STUCK_SECONDS", "1800")),
            media_dir=Path(_env("ONEC_MEDIA_DIR", str(home / "media"))).resolve(),
            media_max_bytes=int(_env("ONEC_MEDIA_MAX_BYTES", "20000000")),
            future_tolerance_seconds=float(_env("ONEC_FUTURE_TOLERANCE", "86400")),
        )


def normalise_database_url(url: str) -> str:
    """SQLAlchemy 2.1 maps bare ``postgresql://`` to psycopg 3; we ship psycopg2 (see dagster-notes)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long the catalog database may keep an import waiting, in seconds (0: no limit), per situation.

    Every one is an environment variable (README, "Configuration reference"); the store applies them to every
    PostgreSQL connection it opens (``onec_pipeline.store.engine``). They are chosen so that a long legitimate
    load (minutes, many statements, some of them long) is never cut short, while a server that stops answering
    fails the import within ``stall`` seconds plus one probe.
    """

    connect: float = 10  # ONEC_DB_CONNECT_TIMEOUT: establishing a connection (libpq connect_timeout)
    stall: float = 60  # ONEC_DB_STALL_TIMEOUT: a server that stops answering (liveness probes, keepalives)
    statement: float = 3600  # ONEC_DB_STATEMENT_TIMEOUT: one SQL statement (statement_timeout)
    lock: float = 300  # ONEC_DB_LOCK_TIMEOUT: a row or table lock another session holds (lock_timeout)
    load_lock: float = 7200  # ONEC_DB_LOAD_LOCK_TIMEOUT: waiting for another import to finish writing
    idle_in_transaction: float = 900  # ONEC_DB_IDLE_TRANSACTION_TIMEOUT: a client silent inside a transaction

    @classmethod
    def from_env(cls) -> DatabaseTimeouts:
        defaults = cls()
        return cls(
            connect=float(_env("ONEC_DB_CONNECT_TIMEOUT", str(defaults.connect))),
            stall=float(_env("ONEC_DB_STALL_TIMEOUT", str(defaults.stall))),
            statement=float(_env("ONEC_DB_STATEMENT_TIMEOUT", str(defaults.statement))),
            lock=float(_env("ONEC_DB_LOCK_TIMEOUT", str(defaults.lock))),
            load_lock=float(_env("ONEC_DB_LOAD_LOCK_TIMEOUT", str(defaults.load_lock))),
            idle_in_transaction=float(
                _env("ONEC_DB_IDLE_TRANSACTION_TIMEOUT", str(defaults.idle_in_transaction))
            ),
        )


# --- the shop's rules (issue 16): what the assets admit, count and resolve -----------------------------

LIST_SEPARATOR = ";"  # group names and property names may contain commas


def _list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return tuple(
        part.strip() for part in raw.replace("\n", LIST_SEPARATOR).split(LIST_SEPARATOR) if part.strip()
    )


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: expected true or false")


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class ShopRules:
    """The shop's rules the import assets apply (README, "Configuration reference" and "Table contract").

    Lists are ``;``-separated environment variables; every default keeps the behaviour of a shop that
    configured nothing (everything admitted, every warehouse counted), except roles: suppliers and the shop's
    own organisations are not customers.
    """

    #: ONEC_CATALOG_ROOTS: groups (1C Ид, or a name path from the top: ``Каталог/СПОРТ``) whose subtrees the
    #: shop sells; goods outside them are kept but not admitted. Empty: every product is admitted.
    catalog_roots: tuple[str, ...] = ()
    #: ONEC_STOCK_WAREHOUSES: warehouses (Ид or name) summed into offers.quantity. Empty: every warehouse.
    stock_warehouses: tuple[str, ...] = ()
    #: ONEC_CUSTOMER_ROLES: contragent roles imported as customers (``*``: every role)
    customer_roles: tuple[str, ...] = ("Покупатель",)
    #: ONEC_CUSTOMERS_WITHOUT_ROLE: whether contragents without a Роль are imported
    customers_without_role: bool = True
    #: ONEC_BRAND_PROPERTIES: property names read as the brand, in order, after Изготовитель
    brand_properties: tuple[str, ...] = ("Бренд", "Производитель")

    @classmethod
    def from_env(cls) -> ShopRules:
        defaults = cls()
        return cls(
            catalog_roots=_list("ONEC_CATALOG_ROOTS", defaults.catalog_roots),
            stock_warehouses=_list("ONEC_STOCK_WAREHOUSES", defaults.stock_warehouses),
            customer_roles=_list("ONEC_CUSTOMER_ROLES", defaults.customer_roles),
            customers_without_role=_flag("ONEC_CUSTOMERS_WITHOUT_ROLE", defaults.customers_without_role),
            brand_properties=_list("ONEC_BRAND_PROPERTIES", defaults.brand_properties),
        )

    def admits_role(self, role: str | None) -> bool:
        """Whether a contragent with this Роль is imported (names compared case- and space-insensitively)."""
        if role is None or not role.strip():
            return self.customers_without_role
        wanted = {_fold(r) for r in self.customer_roles}
        return "*" in wanted or _fold(role) in wanted

    def brand_rank(self, property_name: str | None) -> int | None:
        """Position of a property name in ``brand_properties`` (1 first; None: not a brand property)."""
        if property_name is None:
            return None
        folded = _fold(property_name)
        for rank, name in enumerate(self.brand_properties, start=1):
            if _fold(name) == folded:
                return rank
        return None

    def describe(self) -> dict[str, str]:
        """The rules as the environment would spell them (asset metadata)."""
        return {
            "ONEC_CATALOG_ROOTS": LIST_SEPARATOR.join(self.catalog_roots) or "(everything)",
            "ONEC_STOCK_WAREHOUSES": LIST_SEPARATOR.join(self.stock_warehouses) or "(every warehouse)",
            "ONEC_CUSTOMER_ROLES": LIST_SEPARATOR.join(self.customer_roles),
            "ONEC_CUSTOMERS_WITHOUT_ROLE": str(self.customers_without_role).lower(),
            "ONEC_BRAND_PROPERTIES": LIST_SEPARATOR.join(self.brand_properties) or "(Изготовитель only)",
        }


@dataclass(frozen=True)
class OrderSettings:
    """How orders go to 1C (README, "Orders"): the CommerceML version and encoding of the files when 1C does
    not ask for one, what confirms a ``type=sale`` batch, and how many orders one ``mode=query`` carries."""

    version: str = "2.05"  # ONEC_ORDERS_VERSION: 2.03 / 2.04 / 2.05 / 2.08 / 2.09 / 2.10 / 3.1
    encoding: str = "windows-1251"  # ONEC_ORDERS_ENCODING: windows-1251 (what 1C expects of Bitrix) or utf-8
    confirm: str = "success"  # ONEC_SALE_CONFIRM: success | next_query (see store/orders/export.py)
    query_limit: int = 500  # ONEC_SALE_QUERY_LIMIT: orders per mode=query answer (the rest: next query)

    @classmethod
    def from_env(cls) -> OrderSettings:
        defaults = cls()
        return cls(
            version=_env("ONEC_ORDERS_VERSION", defaults.version),
            encoding=_env("ONEC_ORDERS_ENCODING", defaults.encoding),
            confirm=_env("ONEC_SALE_CONFIRM", defaults.confirm),
            query_limit=int(_env("ONEC_SALE_QUERY_LIMIT", str(defaults.query_limit))),
        )
