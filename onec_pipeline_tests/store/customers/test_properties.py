"""Invariants of identity resolution over random directories and uploads (SQLite, real migrations)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onec_pipeline.commerceml.validation import normalise_email, normalise_phone
from onec_pipeline.store import customers as cs

from .helpers import KEY1, conflict_rows, contragent, log_rows, migrate, rows, site_row

EMAILS = ["a@x.ru", "B@x.ru", "c@x.ru", "not-an-email"]
PHONES = ["+7 916 000-00-01", "8 916 000 00 02", "+79160000003"]
NAMES = ["Иван", "иван ", "Пётр"]

site_rows = st.lists(
    st.fixed_dictionaries(
        {
            "email": st.sampled_from([None, "a@x.ru", "b@x.ru", "c@x.ru"]),
            "phone": st.sampled_from([None, "+79160000001", "+79160000002"]),
            "name": st.sampled_from(NAMES),
        }
    ),
    max_size=5,
)
uploads = st.lists(
    st.fixed_dictionaries(
        {
            "emails": st.lists(st.sampled_from(EMAILS), max_size=2),
            "phones": st.lists(st.sampled_from(PHONES), max_size=2),
            "name": st.sampled_from(NAMES),
            "deleted": st.booleans(),
        }
    ),
    min_size=1,
    max_size=6,
)
_counter = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(site=site_rows, upload=uploads)
def test_every_contragent_ends_in_exactly_one_row_or_an_open_conflict(tmp_path, site, upload):
    engine = migrate(f"sqlite:///{tmp_path / f'p{next(_counter)}.sqlite3'}", None)
    try:
        with engine.begin() as conn:
            site_ids = {site_row(conn, None, **values): values for values in site}
        records = [contragent(f"g{i}", **spec) for i, spec in enumerate(upload)]
        with engine.begin() as conn:
            result = cs.import_customers(conn, records, KEY1)
        with engine.connect() as conn:
            customers, log, conflicts = rows(conn), log_rows(conn), conflict_rows(conn)
        by_onec = [r["onec_id"] for r in customers if r["onec_id"] is not None]
        conflicted = {c["onec_id"] for c in conflicts if c["status"] == "open"}
        for rec in records:
            assert (by_onec.count(rec.id), rec.id in conflicted) in ((1, False), (0, True)), rec
        assert len(customers) == len(site) + result.inserted
        assert result.inserted + result.updated + result.conflicts == len(records)
        assert len(log) == len(records)  # first application: one decision row per contragent
        # a site row is linked only when it was the single candidate: by e-mail, else by phone + name. A row
        # keeps the values the site entered until it is linked (only linked rows take 1C's values), so the
        # linked row matched on those; a row never linked kept them throughout, so it was a candidate of
        # every decision it matches and must have made that decision a conflict, never a link.
        linked = {row["id"] for row in customers if row["onec_id"] is not None}
        for row in customers:
            if row["id"] not in site_ids or row["onec_id"] is None:
                continue
            [rec] = [r for r in records if r.id == row["onec_id"]]
            emails = {normalise_email(e) for e in rec.emails} - {None}
            phones = {normalise_phone(p) for p in rec.phones} - {None}
            by_email = {i for i, v in site_ids.items() if v["email"] and v["email"].lower() in emails}
            by_phone_name = {
                i
                for i, v in site_ids.items()
                if v["phone"] in phones
                and " ".join(v["name"].split()).casefold() == " ".join(rec.name.split()).casefold()
            }
            assert not (by_email - linked), (rec, site_ids)  # another candidate by e-mail: a conflict
            if row["id"] not in by_email:  # linked by phone + name: no e-mail candidate, a single one
                assert row["id"] in by_phone_name and not (by_phone_name - linked), (rec, site_ids)
        # conflict candidates are flagged
        candidate_ids = {i for c in conflicts for i in c["candidate_ids"]}
        assert all(r["sync_status"] == "conflict" for r in customers if r["id"] in candidate_ids)
        # a replay changes nothing and adds exactly one row
        with engine.begin() as conn:
            again = cs.import_customers(conn, records, KEY1)
        with engine.connect() as conn:
            assert rows(conn) == customers and conflict_rows(conn) == conflicts
            assert len(log_rows(conn)) == len(log) + 1
        assert again.replay and again.unchanged + again.conflicts_open == len(records)
    finally:
        engine.dispose()
