"""Identity resolution, conflicts, audit log and replays, on SQLite and real PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from onec_pipeline.store import customers as cs

from .helpers import KEY0, KEY1, KEY2, conflict_rows, contragent, log_rows, migrate, rows, site_row


@pytest.fixture
def db(db_url_schema):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    yield engine, schema
    engine.dispose()


def run(db, records, key=KEY1, **kw):
    engine, schema = db
    with engine.begin() as conn:
        return cs.import_customers(conn, records, key, schema=schema, **kw)


def state(db):
    engine, schema = db
    with engine.connect() as conn:
        return rows(conn, schema), log_rows(conn, schema), conflict_rows(conn, schema)


def add_site(db, **values) -> int:
    engine, schema = db
    with engine.begin() as conn:
        return site_row(conn, schema, **values)


def test_no_match_inserts_a_1c_customer(db):
    rec = contragent(
        "guid-1",
        "Алтай ТОО",
        official_name='ТОО "Алтай"',
        kind="legal",
        inn="7707083893",
        kpp="773601001",
        emails=["Uyt@Komp.kz"],
        phones=["+7 (3272) 25-39-39"],
        contacts=[{"type": "Электронная почта", "value": "Uyt@Komp.kz", "comment": None}],
        addresses=[{"type": "АдресРегистрации", "presentation": "Алматы", "fields": {"Город": "Алматы"}}],
        role="Покупатель",
    )
    result = run(db, [rec])
    assert (result.inserted, result.updated, result.conflicts, result.replay) == (1, 0, 0, False)
    customers, log, conflicts = state(db)
    [row] = customers
    assert row["onec_id"] == "guid-1"
    assert row["email"] == "uyt@komp.kz"
    assert (row["phone"], row["phone_raw"]) == ("+73272253939", "+7 (3272) 25-39-39")
    assert row["created_in_1c"] is True and row["needs_1c_export"] is False and row["is_active"] is True
    assert (row["sync_status"], row["upload_key"], row["kind"]) == ("synced", KEY1, "legal")
    assert row["addresses"][0]["fields"] == {"Город": "Алматы"}
    assert row["validation_issues"] is None
    [entry] = log
    assert (entry["operation"], entry["status"], entry["upload_key"]) == ("import_from_1c", "success", KEY1)
    assert entry["customer_id"] == row["id"] and entry["details"]["action"] == "inserted"
    assert conflicts == []


def test_match_by_onec_id_updates_under_the_version_guard(db):
    run(db, [contragent("guid-1", "Old name", emails=["a@x.ru"])], KEY1)
    result = run(db, [contragent("guid-1", "New name", emails=["a@x.ru"])], KEY2)
    assert (result.inserted, result.updated, result.matched_by) == (0, 1, {"onec_id": 1})
    customers, log, _ = state(db)
    [row] = customers
    assert (row["name"], row["upload_key"]) == ("New name", KEY2)
    assert log[-1]["details"]["matched_by"] == "onec_id"
    assert log[-1]["details"]["changed"] == ["name"]
    assert log[-1]["details"]["previous_upload_key"] == KEY1

    # an older upload arriving late is stale: no change, one skipped row
    result = run(db, [contragent("guid-1", "Ancient name", emails=["a@x.ru"])], KEY0)
    assert (result.stale, result.updated) == (1, 0)
    customers, log, _ = state(db)
    assert customers[0]["name"] == "New name" and customers[0]["upload_key"] == KEY2
    assert (log[-1]["status"], log[-1]["details"]["reason"], log[-1]["upload_key"]) == (
        "skipped",
        "stale",
        KEY0,
    )


def test_match_by_email_is_case_insensitive_and_links_the_site_row(db):
    site_id = add_site(db, name="Иван", email="Ivan.Petrov@Example.com", phone="+79160000000")
    result = run(db, [contragent("guid-7", "Петров Иван", emails=[" IVAN.PETROV@example.COM "], phones=[])])
    assert (result.inserted, result.updated, result.matched_by) == (0, 1, {"email": 1})
    customers, log, _ = state(db)
    [row] = customers
    assert row["id"] == site_id
    assert (row["onec_id"], row["name"], row["email"]) == ("guid-7", "Петров Иван", "ivan.petrov@example.com")
    assert row["phone"] == "+79160000000"  # 1C sent no phone: the site's is kept
    assert row["needs_1c_export"] is False and row["created_in_1c"] is False
    assert (row["sync_status"], row["upload_key"]) == ("synced", KEY1)
    assert log[-1]["details"]["matched_by"] == "email" and "onec_id" in log[-1]["details"]["changed"]


def test_match_by_phone_and_name(db):
    site_id = add_site(db, name="Иван  Петров", phone="+74951234567", phone_raw="495 123-45-67")
    other_id = add_site(db, name="Пётр Сидоров", phone="+74951234567")  # same phone, other name
    result = run(db, [contragent("guid-9", " иван петров ", phones=["8 (495) 123-45-67"])])
    assert (result.updated, result.inserted, result.matched_by) == (1, 0, {"phone_name": 1})
    customers, log, _ = state(db)
    by_id = {r["id"]: r for r in customers}
    assert by_id[site_id]["onec_id"] == "guid-9"
    assert by_id[site_id]["phone_raw"] == "8 (495) 123-45-67"
    assert by_id[other_id]["onec_id"] is None and by_id[other_id]["sync_status"] == "pending"
    assert log[-1]["details"]["matched_by"] == "phone_name"


def test_same_phone_other_name_is_no_match(db):
    add_site(db, name="Пётр Сидоров", phone="+74951234567")
    result = run(db, [contragent("guid-9", "Иван Петров", phones=["+7 495 123 45 67"])])
    assert (result.inserted, result.updated) == (1, 0)
    assert len(state(db)[0]) == 2


def test_several_candidates_is_a_conflict_and_merges_nothing(db):
    a = add_site(db, name="A", email="shared@x.ru")
    b = add_site(db, name="B", email="SHARED@x.ru")
    before = state(db)[0]
    result = run(db, [contragent("guid-2", "C", emails=["shared@x.ru"])])
    assert (result.conflicts, result.inserted, result.updated) == (1, 0, 0)
    customers, log, conflicts = state(db)
    assert len(customers) == 2  # nothing inserted
    for old, new in zip(before, customers, strict=True):
        assert new["sync_status"] == "conflict"
        assert {k: v for k, v in new.items() if k not in ("sync_status", "updated_at")} == {
            k: v for k, v in old.items() if k not in ("sync_status", "updated_at")
        }
    [conflict] = conflicts
    assert (conflict["onec_id"], conflict["reason"], conflict["matched_by"]) == (
        "guid-2",
        "ambiguous",
        "email",
    )
    assert conflict["candidate_ids"] == [a, b] and conflict["status"] == "open"
    assert conflict["incoming"]["emails"] == ["shared@x.ru"] and conflict["incoming"]["name"] == "C"
    assert (log[-1]["status"], log[-1]["details"]["conflict_id"]) == ("conflict", conflict["id"])
    engine, schema = db
    with engine.connect() as conn:
        assert [c["id"] for c in cs.open_conflicts(conn, schema)] == [conflict["id"]]
        assert cs.duplicate_active_emails(conn, schema) == [{"email": "shared@x.ru", "customer_ids": [a, b]}]


def test_email_of_a_row_with_another_onec_id_is_a_conflict(db):
    run(db, [contragent("guid-A", "Первый", emails=["boss@firm.ru"])], KEY1)
    result = run(db, [contragent("guid-B", "Второй", emails=["Boss@Firm.ru"])], KEY2)
    assert (result.conflicts, result.inserted, result.updated) == (1, 0, 0)
    customers, log, conflicts = state(db)
    [row] = customers
    assert (row["onec_id"], row["name"], row["upload_key"]) == ("guid-A", "Первый", KEY1)
    assert row["sync_status"] == "conflict"
    assert (conflicts[0]["reason"], conflicts[0]["candidate_ids"]) == ("onec_id_mismatch", [row["id"]])
    assert log[-1]["status"] == "conflict" and log[-1]["onec_id"] == "guid-B"


def test_a_newer_conflict_supersedes_the_open_one(db):
    add_site(db, name="A", email="s@x.ru")
    add_site(db, name="B", email="s@x.ru")
    run(db, [contragent("guid-2", "C", emails=["s@x.ru"])], KEY1)
    run(db, [contragent("guid-2", "C2", emails=["s@x.ru"])], KEY2)
    conflicts = state(db)[2]
    assert [(c["upload_key"], c["status"]) for c in conflicts] == [(KEY1, "superseded"), (KEY2, "open")]


def test_invalid_values_are_kept_raw_and_flagged(db):
    rec = contragent(
        "guid-3", "Плохие данные", inn="7707083894", kpp="77-01", emails=["not-an-email"], phones=["звоните"]
    )
    result = run(db, [rec])
    assert (result.inserted, result.flagged) == (1, 1)
    customers, log, _ = state(db)
    [row] = customers
    assert (row["inn"], row["kpp"], row["email"], row["phone"], row["phone_raw"]) == (
        "7707083894",
        "77-01",
        "not-an-email",
        None,
        "звоните",
    )
    assert row["sync_status"] == "error"
    assert {i["field"] for i in row["validation_issues"]} == {"inn", "kpp", "email", "phone"}
    assert log[-1]["status"] == "error" and log[-1]["details"]["action"] == "inserted"
    assert {i["field"] for i in log[-1]["details"]["invalid"]} == {"inn", "kpp", "email", "phone"}
    # an invalid e-mail is never used to match: a second contragent with it is a separate customer
    run(db, [contragent("guid-4", "Другой", emails=["not-an-email"])], KEY2)
    assert len(state(db)[0]) == 2


def test_deleted_contragent_never_deactivates_a_site_row_by_email(db):
    site_id = add_site(db, name="Сайт", email="x@y.ru")
    result = run(db, [contragent("guid-5", "Удалён", emails=["x@y.ru"], deleted=True)])
    assert result.inserted == 1
    customers = {r["id"]: r for r in state(db)[0]}
    assert customers[site_id]["is_active"] is True and customers[site_id]["onec_id"] is None
    [new] = [r for r in customers.values() if r["id"] != site_id]
    assert (new["onec_id"], new["is_active"]) == ("guid-5", False)
    # a later deletion mark of a known contragent deactivates it
    run(db, [contragent("guid-5", "Удалён", deleted=True)], KEY2)
    run(db, [contragent("guid-6", "Живой")], KEY1)
    run(db, [contragent("guid-6", "Живой", deleted=True)], KEY2)
    assert [r["is_active"] for r in state(db)[0] if r["onec_id"] == "guid-6"] == [False]


def test_full_export_deactivates_absent_1c_customers(db):
    add_site(db, name="Сайт", email="site@x.ru")
    run(db, [contragent("g1", "One"), contragent("g2", "Two")], KEY1)
    result = run(db, [contragent("g1", "One")], KEY2, full=True)
    assert result.deactivated == 1
    customers = {r["onec_id"]: r for r in state(db)[0]}
    assert customers["g2"]["is_active"] is False and customers["g2"]["upload_key"] == KEY2
    assert customers["g1"]["is_active"] is True and customers[None]["is_active"] is True
    # replaying the full export deactivates nothing more
    assert run(db, [contragent("g1", "One")], KEY2, full=True).deactivated == 0


def test_duplicate_contragent_in_one_upload(db):
    result = run(db, [contragent("g1", "One"), contragent("g1", "One again")])
    assert (result.inserted, result.unchanged) == (1, 1)
    log = state(db)[1]
    assert [(e["status"], e["details"].get("reason")) for e in log] == [
        ("success", None),
        ("skipped", "duplicate_in_upload"),
    ]


def test_replay_changes_no_data_and_adds_exactly_one_log_row(db):
    add_site(db, name="По почте", email="mail@x.ru")
    add_site(db, name="A", email="twice@x.ru")
    add_site(db, name="B", email="twice@x.ru")
    upload = [
        contragent("n1", "Новый", emails=["new@x.ru"]),
        contragent("m1", "По почте", emails=["MAIL@x.ru"]),
        contragent("c1", "Конфликт", emails=["twice@x.ru"]),
        contragent("i1", "Плохой ИНН", inn="1234567890"),
    ]
    first = run(db, upload, KEY1)
    assert (first.inserted, first.updated, first.conflicts, first.flagged) == (2, 1, 1, 1)
    before = state(db)
    second = run(db, upload, KEY1)
    assert second.replay is True
    assert (second.inserted, second.updated, second.conflicts) == (0, 0, 0)
    assert (second.unchanged, second.conflicts_open) == (3, 1)
    after = state(db)
    assert after[0] == before[0]  # customers: every column identical
    assert after[2] == before[2]  # conflicts identical
    assert after[1][: len(before[1])] == before[1]
    [extra] = after[1][len(before[1]) :]
    assert (extra["status"], extra["customer_id"], extra["onec_id"], extra["upload_key"]) == (
        "skipped",
        None,
        None,
        KEY1,
    )
    assert extra["details"] == {"reason": "replay", "unchanged": 3, "stale": 0, "conflicts_open": 1}
    # a third application adds one more summary row, nothing else
    run(db, upload, KEY1)
    assert len(state(db)[1]) == len(after[1]) + 1


def test_log_status_and_operation_values_are_constrained(db):
    engine, schema = db
    t = cs.customer_tables(None if engine.dialect.name == "sqlite" else schema)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(t.log.insert().values(operation="import_from_1c", status="bogus"))


def test_full_export_refuses_mass_deactivation_unless_allowed(db):
    from onec_pipeline.store import MassDeactivationError

    run(db, [contragent(f"g{i}", f"C{i}") for i in range(4)], KEY1)
    before = state(db)
    with pytest.raises(MassDeactivationError) as err:
        run(db, [contragent("g0", "C0")], KEY2, full=True)  # would deactivate 3 of 4
    assert (err.value.would_deactivate, err.value.active) == (3, 4)
    assert state(db) == before  # the transaction rolled back: nothing changed, nothing logged
    result = run(db, [contragent("g0", "C0")], KEY2, full=True, allow_mass_deactivation=True)
    assert result.deactivated == 3
    assert [r["is_active"] for r in state(db)[0]] == [True, False, False, False]


def test_conflict_review_then_reimport_links_the_chosen_row(db):
    engine, schema = db
    a = add_site(db, name="A", email="s@x.ru")
    b = add_site(db, name="B", email="s@x.ru")
    upload = [contragent("guid-2", "Клиент", emails=["s@x.ru"])]
    run(db, upload, KEY1)
    [conflict] = state(db)[2]
    # conflict candidates are not exported while the conflict is open
    with engine.connect() as conn:
        assert cs.pending_export_count(conn, schema) == 0
    # the reviewer decides that row a is this contragent, and closes the conflict
    t = cs.customer_tables(None if engine.dialect.name == "sqlite" else schema)
    with engine.begin() as conn:
        conn.execute(t.customers.update().where(t.customers.c.id == a).values(onec_id="guid-2"))
        assert cs.resolve_conflict(conn, conflict["id"], "a is guid-2", schema=schema) == [a, b]
        with pytest.raises(ValueError):
            cs.resolve_conflict(conn, conflict["id"], "again", schema=schema)
    customers = {r["id"]: r for r in state(db)[0]}
    assert customers[b]["sync_status"] == "pending"  # released, waits for export again
    # re-importing the same upload now updates row a through its onec_id: a replay that changes data
    result = run(db, upload, KEY1)
    assert (result.replay, result.updated, result.conflicts) == (True, 1, 0)
    customers, log, conflicts = state(db)
    by_id = {r["id"]: r for r in customers}
    assert (by_id[a]["name"], by_id[a]["sync_status"], by_id[a]["upload_key"]) == ("Клиент", "synced", KEY1)
    assert [(e["status"], e["details"].get("action") or e["details"].get("reason")) for e in log[-2:]] == [
        ("success", "updated"),
        ("skipped", "replay"),
    ]
    assert [c["status"] for c in conflicts] == ["resolved"]


def test_a_conflict_candidate_keeps_its_conflict_status_when_updated(db):
    run(db, [contragent("guid-A", "Первый", emails=["boss@firm.ru"])], KEY0)
    run(db, [contragent("guid-B", "Второй", emails=["boss@firm.ru"])], KEY1)
    result = run(db, [contragent("guid-A", "Первый (новое имя)", emails=["boss@firm.ru"])], KEY2)
    assert result.updated == 1
    [row] = state(db)[0]
    assert (row["name"], row["sync_status"]) == ("Первый (новое имя)", "conflict")


def test_update_never_replaces_a_valid_contact_with_an_invalid_one(db):
    site_id = add_site(
        db, name="Иван Петров", email="ivan@x.ru", phone="+74951234567", phone_raw="495 123-45-67"
    )
    run(db, [contragent("g", "Иван Петров", phones=["8 495 123 45 67"])], KEY1)  # matched by phone + name
    run(db, [contragent("g", "Иван Петров", emails=["ivan(at)x.ru"], phones=["нет"])], KEY2)
    [row] = state(db)[0]
    assert row["id"] == site_id
    assert (row["email"], row["phone"], row["phone_raw"]) == ("ivan@x.ru", "+74951234567", "8 495 123 45 67")
    assert row["sync_status"] == "error"
    assert {i["field"] for i in row["validation_issues"]} == {"email", "phone"}


def test_older_upload_after_a_full_export_inserts_its_new_contragents_inactive(db):
    run(db, [contragent("g1", "One")], KEY2, full=True)
    result = run(db, [contragent("g1", "One (old)"), contragent("g3", "Gone since")], KEY1)
    assert (result.inserted, result.stale) == (1, 1)
    customers, log, _ = state(db)
    by_onec = {r["onec_id"]: r for r in customers}
    assert (by_onec["g1"]["name"], by_onec["g1"]["is_active"]) == ("One", True)
    assert by_onec["g3"]["is_active"] is False
    assert log[-1]["details"]["inactive"] == f"absent from the newer full export {KEY2}"
    # the same two uploads in chronological order end in the same state
    engine, schema = db
    t = cs.customer_tables(None if engine.dialect.name == "sqlite" else schema)
    with engine.begin() as conn:
        conn.execute(t.customers.delete())
        conn.execute(t.log.delete())
        conn.execute(
            sa.text(
                "DELETE FROM " + (f'"{schema}".' if engine.dialect.name != "sqlite" else "") + "full_exports"
            )
        )
    run(db, [contragent("g1", "One (old)"), contragent("g3", "Gone since")], KEY1)
    run(db, [contragent("g1", "One")], KEY2, full=True)
    chronological = {r["onec_id"]: (r["name"], r["is_active"]) for r in state(db)[0]}
    assert chronological == {"g1": ("One", True), "g3": ("Gone since", False)}
