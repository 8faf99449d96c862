"""Validation and normalisation of a contragent's sensitive fields: INN, KPP, e-mail, phone.

Pure functions, no I/O. The customers store uses them to *flag* bad values (an invalid value never drops
a customer: it is kept raw and reported), and to normalise the values used for identity resolution.

* INN (ИНН): 10 digits for organisations, 12 for individuals and sole traders; the last one (10) or two
  (12) digits are check digits: weighted sum of the preceding digits, ``mod 11``, then ``mod 10``.
* KPP (КПП): 9 characters, ``NNNNPPXXX`` - 4 digits (tax office), 2 digits or capital Latin letters
  (reason code), 3 digits (serial number).
* E-mail: a pragmatic syntax check (one ``@``, a local part without spaces, a dotted domain of LDH labels);
  normalised by trimming and lower-casing the whole address.
* Phone: digits only with a leading ``+``; Russian / Kazakh national forms (``8XXXXXXXXXX``, 10 digits) become
  ``+7XXXXXXXXXX``; an extension (``доб.``, ``ext``, ``#``) is cut off. Fewer than 10 or more than 15 digits
  is not a phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)

_KPP_RE = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")
_EMAIL_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAIN_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_PHONE_EXTENSION_RE = re.compile(r"(доб\.?|ext\.?|extension|вн\.?|#|x\s*\d).*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Issue:
    """One invalid value: which field, the raw value as received, and why it is invalid."""

    field: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "value": self.value, "reason": self.reason}


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def inn_problem(inn: str | None) -> str | None:
    """Why ``inn`` is not a valid INN, or None when it is valid. Empty/None is not checked (None)."""
    value = (inn or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        return "INN must contain digits only"
    if len(value) == 10:
        if _check_digit(value[:9], _INN10_WEIGHTS) != int(value[9]):
            return "INN check digit mismatch"
        return None
    if len(value) == 12:
        if _check_digit(value[:10], _INN11_WEIGHTS) != int(value[10]) or _check_digit(
            value[:11], _INN12_WEIGHTS
        ) != int(value[11]):
            return "INN check digits mismatch"
        return None
    return f"INN must have 10 or 12 digits, not {len(value)}"


def is_valid_inn(inn: str | None) -> bool:
    """True for a 10- or 12-digit INN whose check digits are right (empty is not valid)."""
    return bool((inn or "").strip()) and inn_problem(inn) is None


def kpp_problem(kpp: str | None) -> str | None:
    """Why ``kpp`` is not a well-shaped KPP, or None when it is (or is empty)."""
    value = (kpp or "").strip()
    if not value:
        return None
    if not _KPP_RE.match(value):
        return "KPP must be 4 digits, 2 digits or capital Latin letters, 3 digits"
    return None


def is_valid_kpp(kpp: str | None) -> bool:
    return bool((kpp or "").strip()) and kpp_problem(kpp) is None


def normalise_email(value: str | None) -> str | None:
    """The trimmed, lower-cased address when it is syntactically an e-mail, else None.

    A ``mailto:`` prefix is dropped. The check is deliberately pragmatic (RFC 5322 allows much more).
    """
    text = (value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    if not text or len(text) > 254 or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if not local or len(local) > 64 or not _EMAIL_LOCAL_RE.match(local):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL_RE.match(label) for label in labels):
        return None
    if labels[-1].isdigit():
        return None
    return text.lower()


def is_valid_email(value: str | None) -> bool:
    return normalise_email(value) is not None


def normalise_phone(value: str | None, default_country_code: str = "7") -> str | None:
    """``+<digits>`` for something that is a phone number, else None.

    ``+7 (3272) 25-39-39`` → ``+73272253939``; ``8 (495) 123-45-67`` → ``+74951234567``;
    ``495 123 45 67`` → ``+74951234567`` (10 national digits get the default country code);
    ``+7 495 123-45-67 доб. 12`` → ``+74951234567`` (extension dropped).
    """
    text = (value or "").strip()
    if not text:
        return None
    text = _PHONE_EXTENSION_RE.sub("", text)
    if re.search(r"[^\d\s()+\-./]", text):
        return None  # letters or other symbols: not a phone number
    plus = text.lstrip().startswith("+")
    digits = re.sub(r"\D", "", text)
    if not plus:
        if len(digits) == 11 and digits[0] == "8" and default_country_code == "7":
            digits = "7" + digits[1:]
        elif len(digits) == 10:
            digits = default_country_code + digits
    if not 10 <= len(digits) <= 15 or digits[0] == "0":
        return None
    return "+" + digits


def customer_issues(
    inn: str | None = None,
    kpp: str | None = None,
    emails: list[str] | tuple[str, ...] = (),
    phones: list[str] | tuple[str, ...] = (),
) -> list[Issue]:
    """Every invalid sensitive value of one contragent (empty values are not issues)."""
    issues: list[Issue] = []
    if (problem := inn_problem(inn)) is not None:
        issues.append(Issue("inn", inn or "", problem))
    if (problem := kpp_problem(kpp)) is not None:
        issues.append(Issue("kpp", kpp or "", problem))
    for email in emails:
        if (email or "").strip() and normalise_email(email) is None:
            issues.append(Issue("email", email, "not an e-mail address"))
    for phone in phones:
        if (phone or "").strip() and normalise_phone(phone) is None:
            issues.append(Issue("phone", phone, "not a phone number"))
    return issues
