"""A 1C contragent as ``customers`` column values (normalised, with its validation issues) and as JSON."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from onec_pipeline.commerceml.records import Customer
from onec_pipeline.commerceml.validation import customer_issues, normalise_email, normalise_phone

#: data columns written from a 1C contragent (compared to decide what changed)
DATA_COLUMNS = (
    "kind",
    "name",
    "official_name",
    "inn",
    "kpp",
    "okpo",
    "email",
    "phone",
    "phone_raw",
    "addresses",
    "contacts",
    "representatives",
    "role",
    "validation_issues",
    "is_active",
)


def utcnow() -> datetime:
    """Naive UTC, like every timestamp of the catalog schema."""
    return datetime.now(UTC).replace(tzinfo=None)


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def name_key(name: str | None) -> str:
    """A name compared case- and whitespace-insensitively."""
    return re.sub(r"\s+", " ", (name or "").strip()).casefold()


def jsonable(value: Any) -> Any:
    """Round-trip through plain types so comparisons with stored JSON are exact."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def incoming_payload(customer: Customer) -> dict[str, Any]:
    """The contragent as plain JSON (kept whole in a conflict for the reviewer)."""
    data = {f.name: getattr(customer, f.name) for f in dataclasses.fields(customer) if f.name != "source"}
    data["source"] = str(customer.source) if customer.source else None
    return jsonable(data)


def source_text(customer: Customer) -> str | None:
    return str(customer.source) if customer.source else None


def values_from_record(customer: Customer) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Column values of a contragent and its validation issues."""
    raw_emails = [e for e in customer.emails if clean(e)]
    valid_emails = [e for e in (normalise_email(x) for x in raw_emails) if e]
    email = valid_emails[0] if valid_emails else (raw_emails[0].strip().lower() if raw_emails else None)
    raw_phones = [p for p in customer.phones if clean(p)]
    phone = phone_raw = None
    for raw in raw_phones:
        if (normalised := normalise_phone(raw)) is not None:
            phone, phone_raw = normalised, raw.strip()
            break
    if phone_raw is None and raw_phones:
        phone_raw = raw_phones[0].strip()
    issues = [
        i.as_dict()
        for i in customer_issues(inn=customer.inn, kpp=customer.kpp, emails=raw_emails, phones=raw_phones)
    ]
    values = {
        "kind": customer.kind,
        "name": customer.name,
        "official_name": customer.official_name,
        "inn": clean(customer.inn),
        "kpp": clean(customer.kpp),
        "okpo": clean(customer.okpo),
        "email": email,
        "phone": phone,
        "phone_raw": phone_raw,
        "addresses": jsonable(customer.addresses),
        "contacts": jsonable(customer.contacts),
        "representatives": jsonable(customer.representatives),
        "role": customer.role,
        "validation_issues": issues or None,
        "is_active": not customer.deleted,
    }
    return values, issues
