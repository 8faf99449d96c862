"""INN / KPP / e-mail / phone validation with real check-digit cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onec_pipeline.commerceml.validation import (
    customer_issues,
    inn_problem,
    is_valid_email,
    is_valid_inn,
    is_valid_kpp,
    normalise_email,
    normalise_phone,
)

# Real, published INNs of organisations (10 digits).
VALID_INN10 = ["7707083893", "7736207543", "7830002293", "7703270067"]
# 12 digits, verified by hand for 500100732259:
#   d11: (5*7 + 0*2 + 0*4 + 1*10 + 0*3 + 0*5 + 7*9 + 3*4 + 2*6 + 2*8) = 148; 148 % 11 = 5 -> 5 ✓
#   d12: (5*3 + 0*7 + 0*2 + 1*4 + 0*10 + 0*3 + 7*5 + 3*9 + 2*4 + 2*6 + 5*8) = 141; 141 % 11 = 9 -> 9 ✓
VALID_INN12 = ["500100732259"]


@pytest.mark.parametrize("inn", VALID_INN10 + VALID_INN12)
def test_valid_inns(inn):
    assert inn_problem(inn) is None
    assert is_valid_inn(inn)
    assert is_valid_inn(f"  {inn} ")


@pytest.mark.parametrize("inn", VALID_INN10 + VALID_INN12)
def test_each_corrupted_check_digit_is_detected(inn):
    # change the last digit to every other value: the check must fail each time
    for d in "0123456789":
        if d == inn[-1]:
            continue
        assert not is_valid_inn(inn[:-1] + d), inn[:-1] + d
    # swapping two adjacent differing digits in the body breaks the weighted sum
    body = inn[:-1] if len(inn) == 10 else inn[:-2]
    i = next(k for k in range(len(body) - 1) if body[k] != body[k + 1])
    swapped = inn[:i] + inn[i + 1] + inn[i] + inn[i + 2 :]
    assert not is_valid_inn(swapped)


def test_12_digit_inn_needs_both_check_digits():
    inn = "500100732259"
    assert not is_valid_inn(inn[:10] + "6" + inn[11])  # 11th wrong, 12th right
    assert not is_valid_inn(inn[:11] + "0")  # 11th right, 12th wrong


@pytest.mark.parametrize(
    "inn, reason",
    [
        ("770708389", "10 or 12"),
        ("77070838930", "10 or 12"),
        ("77O7083893", "digits only"),
        ("７７０７０８３８９３", "digits only"),  # full-width digits are not ASCII digits
        ("7707083894", "check digit"),
        # Kazakh BINs from the sample upload are not Russian INNs
        ("181310839110", "check digits"),
    ],
)
def test_invalid_inns(inn, reason):
    problem = inn_problem(inn)
    assert problem is not None and reason in problem
    assert not is_valid_inn(inn)


def test_empty_inn_is_not_an_issue_but_not_valid():
    assert inn_problem(None) is None and inn_problem("  ") is None
    assert not is_valid_inn("")


@pytest.mark.parametrize("kpp", ["773601001", "770701001", "7736AB001", "500101001"])
def test_valid_kpp(kpp):
    assert is_valid_kpp(kpp)


@pytest.mark.parametrize("kpp", ["77360100", "7736010011", "7736ab001", "A73601001", "7736-01-001"])
def test_invalid_kpp(kpp):
    assert not is_valid_kpp(kpp)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Uyt@komp.kz", "uyt@komp.kz"),
        ("  Ivan.Petrov+shop@Example.COM ", "ivan.petrov+shop@example.com"),
        ("mailto:info@yandex.ru", "info@yandex.ru"),
        ("a@b", None),
        ("a b@c.ru", None),
        ("two@@c.ru", None),
        ("a..b@c.ru", None),
        (".a@c.ru", None),
        ("a@-c.ru", None),
        ("a@c.123", None),
        ("Москва, Дмитровское шоссе, д.9", None),  # "Почта" holds postal addresses
        ("", None),
        (None, None),
    ],
)
def test_email(raw, expected):
    assert normalise_email(raw) == expected
    assert is_valid_email(raw) is (expected is not None)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("+7 (3272) 25-39-39", "+73272253939"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("495 123 45 67", "+74951234567"),
        ("+7 495 123-45-67 доб. 12", "+74951234567"),
        ("+7-916-000-11-22 ext 5", "+79160001122"),
        ("+380 44 123 4567", "+380441234567"),
        ("123-45", None),
        ("нет телефона", None),
        ("+1234567890123456", None),
        ("", None),
    ],
)
def test_phone(raw, expected):
    assert normalise_phone(raw) == expected


def test_customer_issues_lists_every_bad_field_and_ignores_empty_ones():
    issues = customer_issues(
        inn="7707083894", kpp="77360100", emails=["ok@x.ru", "bad@"], phones=["+7 495 1234567", "abc"]
    )
    assert [(i.field, i.value) for i in issues] == [
        ("inn", "7707083894"),
        ("kpp", "77360100"),
        ("email", "bad@"),
        ("phone", "abc"),
    ]
    assert customer_issues(inn="", kpp=None, emails=[""], phones=[]) == []
    assert customer_issues(inn="7707083893", kpp="773601001", emails=["a@b.ru"], phones=["89161234567"]) == []


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_completes_any_10_digit_body(body):
    assert sum(is_valid_inn(body + d) for d in "0123456789") == 1


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_exactly_one_pair_of_check_digits_completes_any_12_digit_body(body):
    valid = [a + b for a in "0123456789" for b in "0123456789" if is_valid_inn(body + a + b)]
    assert len(valid) == 1


_LOCAL = st.from_regex(r"[A-Za-z0-9_%+-]{1,20}(\.[A-Za-z0-9_%+-]{1,10}){0,2}", fullmatch=True)
_LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
_TLD = st.from_regex(r"[A-Za-z]{2,6}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(_LOCAL, st.lists(_LABEL, min_size=1, max_size=3), _TLD, st.sampled_from(["", " ", "\t"]))
def test_ordinary_emails_are_accepted_and_lower_cased(local, labels, tld, pad):
    email = f"{local}@{'.'.join(labels)}.{tld}"
    assert normalise_email(pad + email + pad) == email.lower()
    assert normalise_email(email.upper()) == email.lower()
    assert normalise_email(email.replace("@", "")) is None
