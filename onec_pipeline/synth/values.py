"""Deterministic values derived from integers: hashes, GUIDs per seed, ids, barcodes, prices, stock
quantities, INNs. The same (seed, index, version) always gives the same value."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from .spec import SynthSpec

_MASK64 = 0xFFFFFFFFFFFFFFFF


def mix64(value: int) -> int:
    """A cheap 64-bit integer hash (splitmix64 finaliser)."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def guid_prefix(seed: int, kind: str) -> str:
    """24 characters ``xxxxxxxx-xxxx-4xxx-8xxx-`` fixed per (seed, kind); the index fills the last 12."""
    digest = hashlib.sha256(f"onec-synth:{seed}:{kind}".encode()).hexdigest()
    return f"{digest[0:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-"


def guid(prefix: str, index: int) -> str:
    return f"{prefix}{index:012x}"


def in_share(index: int, salt: int, share: float) -> bool:
    """Whether item ``index`` falls into the deterministic ``share`` of items picked by ``salt``."""
    if share <= 0.0:
        return False
    if share >= 1.0:
        return True
    return mix64(index * 1_000_003 + salt) % 1_000_000 < int(share * 1_000_000)


def count_in_share(total: int, salt: int, share: float) -> int:
    """How many of ``range(total)`` fall into the share (see ``in_share``)."""
    if share <= 0.0:
        return 0
    return sum(1 for index in range(total) if in_share(index, salt, share))


def version_stamp(index: int, salt: int) -> str:
    """A НомерВерсии-like base64 token (8 bytes → 12 chars)."""
    return base64.b64encode(struct.pack(">Q", mix64(index * 31 + salt) & 0xFFFFFFFFFF)).decode()


# -- ids ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedIds:
    """The GUID prefix of every kind of id, for one seed."""

    catalog: str
    product: str
    characteristic: str
    group: str
    price_type: str
    warehouse: str
    prop: str
    value: str
    unit: str
    customer: str
    person: str
    image: str
    file: str

    @classmethod
    def for_seed(cls, seed: int) -> SeedIds:
        return cls(**{name: guid_prefix(seed, name) for name in cls.__dataclass_fields__})

    def value_id(self, prop: int, value: int) -> str:
        """Id of value ``value`` of the Справочник property ``prop``."""
        return guid(self.value, prop * 1000 + value)

    def offer_id(self, offer: int, goods: int) -> str:
        """``product#characteristic``, or the plain product id (see ``offer_product``)."""
        product, plain = offer_product(offer, goods)
        product_guid = guid(self.product, product)
        return product_guid if plain else f"{product_guid}#{guid(self.characteristic, offer)}"


def offer_product(offer: int, goods: int) -> tuple[int, bool]:
    """(product, plain) of an offer: offer ``i`` belongs to product ``i % goods``; the first offer of every
    8th product is plain (its id is the product's)."""
    product = offer % goods
    return product, (offer < goods and product % 8 == 0)


def product_id(index: int, *, seed: int = 0) -> str:
    return guid(guid_prefix(seed, "product"), index)


def offer_id(index: int, *, goods: int, seed: int = 0) -> str:
    """Id of offer ``index`` in an upload with ``goods`` products (see the layout rules in ``offer_product``)."""
    return SeedIds.for_seed(seed).offer_id(index, goods)


def price_type_ids(n: int, *, seed: int = 0) -> list[str]:
    prefix = guid_prefix(seed, "price_type")
    return [guid(prefix, price_type) for price_type in range(n)]


def warehouse_ids(n: int, *, seed: int = 0) -> list[str]:
    prefix = guid_prefix(seed, "warehouse")
    return [guid(prefix, warehouse) for warehouse in range(n)]


# -- values ---------------------------------------------------------------------------------------------


def ean13(number: int) -> str:
    body = f"20{number % 10**10:010d}"
    checksum = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(body))
    return body + str((10 - checksum % 10) % 10)


def price_cents(offer: int, price_type: int, spec: SynthSpec) -> int:
    cents = 5_000 + mix64(offer * 16 + price_type) % 9_995_000  # 50.00 .. 100 000.00
    if price_type % 4 == 0:
        cents -= cents % 100  # retail prices are whole roubles
    if spec.version and in_share(offer, 77, spec.changed_share):
        cents += cents * spec.version // 20 + spec.version * 100
    return cents


def format_cents(cents: int) -> str:
    roubles, kopecks = divmod(cents, 100)
    return f"{roubles}" if kopecks == 0 else f"{roubles}.{kopecks:02d}"


def price_presentation(cents: int, currency: str, unit: str) -> str:
    grouped = f"{cents // 100:,}".replace(",", "\u00a0")
    return f" {grouped} {currency} за {unit}"


def rest_quantity(offer: int, warehouse: int, spec: SynthSpec) -> str:
    """Stock of an offer at a warehouse: ~40 % zeros, some negative and fractional quantities."""
    bits = mix64(offer * 64 + warehouse + 1_000_000_007)
    roll = bits % 100
    if spec.version and in_share(offer, 91, spec.changed_share):
        roll = (roll + spec.version * 37) % 100
        bits += spec.version
    if roll < 40:
        return "0"
    if roll < 42:
        return f"-{bits % 70 + 1}"
    if roll < 48:
        return f"{bits % 300}.{(bits >> 16) % 1000:03d}"
    return str((bits >> 8) % 500 + 1)


def thousandths(quantity: str) -> int:
    """Quantity text → thousandths (exact integer arithmetic)."""
    negative = quantity.startswith("-")
    whole, _, fraction = quantity.lstrip("-").partition(".")
    value = int(whole) * 1000 + int((fraction + "000")[:3])
    return -value if negative else value


def format_thousandths(value: int) -> str:
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 1000)
    return f"{sign}{whole}" if fraction == 0 else f"{sign}{whole}.{fraction:03d}".rstrip("0")


def inn10(number: int) -> str:
    """A valid 10-digit INN (legal entity)."""
    digits = [int(ch) for ch in f"77{number % 10**7:07d}"]
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    check = sum(a * b for a, b in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def inn12(number: int) -> str:
    """A valid 12-digit INN (person)."""
    digits = [int(ch) for ch in f"50{number % 10**8:08d}"]
    weights11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    digits.append(sum(a * b for a, b in zip(digits, weights11, strict=True)) % 11 % 10)
    weights12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    digits.append(sum(a * b for a, b in zip(digits, weights12, strict=True)) % 11 % 10)
    return "".join(map(str, digits))


def escape(text: str) -> str:
    """XML character data (``&``, ``<``, ``>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
