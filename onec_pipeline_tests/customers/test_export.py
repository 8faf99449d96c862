"""Export of site-created customers back to 1C: selection, file, marking, log, round trip."""

from __future__ import annotations

import dataclasses

import pytest

from onec_pipeline.commerceml import Customer, Entity, discover_upload, read_upload
from onec_pipeline.store import customers as cs

from .helpers import KEY1, KEY2, contragent, log_rows, migrate, rows, site_row


@pytest.fixture
def db(db_url_schema):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    yield engine, None if engine.dialect.name == "sqlite" else schema
    engine.dispose()


def test_export_writes_pending_site_customers_marks_them_and_reads_back(db, tmp_path):
    engine, schema = db
    outbox = tmp_path / "outbox"
    with engine.begin() as conn:
        a = site_row(
            conn,
            schema,
            name="Иван Петров",
            kind="individual",
            email="ivan@example.com",
            phone="+79161234567",
            phone_raw="8 916 123-45-67",
            addresses=[
                {"type": "Адрес", "presentation": "Москва, Тверская 1", "fields": {"Город": "Москва"}}
            ],
        )
        b = site_row(
            conn, schema, name='ООО "Вектор"', kind="legal", official_name='ООО "Вектор"', inn="7736207543"
        )
        site_row(conn, schema, name="Уже выгружен", needs_1c_export=False)
        site_row(conn, schema, name="Неактивен", is_active=False)
        cs.import_customers(conn, [contragent("g-1", "Из 1С", emails=["one@c.ru"])], KEY1, schema=schema)
        assert cs.pending_export_count(conn, schema) == 2
        expected = [cs.row_to_customer(r) for r in rows(conn, schema) if r["id"] in (a, b)]

    with engine.begin() as conn:
        result = cs.export_customers(conn, outbox, schema=schema)
    assert (result.exported, result.customer_ids) == (2, [a, b])
    assert result.path.parent == outbox and result.path.exists()
    assert [p.name for p in outbox.iterdir()] == [result.path.name]

    # the file reads back through our reader as exactly the customers that were selected
    back = list(read_upload(discover_upload(outbox), {Entity.CUSTOMERS}))
    assert [dataclasses.replace(c, source=None) for c in back] == expected
    assert [c.id for c in back] == [f"site-{a}", f"site-{b}"]
    assert back[0].emails == ["ivan@example.com"] and back[0].phones == ["8 916 123-45-67"]
    assert back[1].inn == "7736207543" and back[1].kind == "legal"

    with engine.connect() as conn:
        by_id = {r["id"]: r for r in rows(conn, schema)}
        for cid in (a, b):
            assert by_id[cid]["needs_1c_export"] is False
            assert by_id[cid]["sync_status"] == "synced"
            assert by_id[cid]["last_export_file"] == result.path.name
            assert by_id[cid]["last_sync_at"] is not None
        exports = [e for e in log_rows(conn, schema) if e["operation"] == "export_to_1c"]
        assert [(e["customer_id"], e["status"]) for e in exports] == [(a, "success"), (b, "success")]
        assert exports[0]["details"] == {
            "action": "exported",
            "file": result.path.name,
            "id_in_file": f"site-{a}",
        }
        assert cs.pending_export_count(conn, schema) == 0

    # nothing left: a second export writes no file and logs nothing
    with engine.begin() as conn:
        again = cs.export_customers(conn, outbox, schema=schema)
    assert (again.path, again.exported) == (None, 0)
    assert len(list(outbox.iterdir())) == 1


def test_1c_echo_of_an_exported_customer_links_the_site_row(db, tmp_path):
    """1C loads our file and sends the customer back with its own Ид: matched by e-mail, no duplicate."""
    engine, schema = db
    with engine.begin() as conn:
        cid = site_row(conn, schema, name="Эхо", email="echo@x.ru")
        result = cs.export_customers(conn, tmp_path, schema=schema)
    [sent] = list(read_upload(discover_upload(result.path), {Entity.CUSTOMERS}))
    echoed = dataclasses.replace(sent, id="1c-guid-echo")
    with engine.begin() as conn:
        res = cs.import_customers(conn, [echoed], KEY2, schema=schema)
        assert (res.updated, res.inserted, res.matched_by) == (1, 0, {"email": 1})
        [row] = rows(conn, schema)
    assert (row["id"], row["onec_id"], row["created_in_1c"]) == (cid, "1c-guid-echo", False)
    assert isinstance(sent, Customer)


def test_rolled_back_export_leaves_customers_pending(db, tmp_path):
    engine, schema = db
    with engine.begin() as conn:
        site_row(conn, schema, name="Откат", email="r@x.ru")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        cs.export_customers(conn, tmp_path, schema=schema)
        raise RuntimeError("asset failed after writing the file")
    with engine.connect() as conn:
        assert cs.pending_export_count(conn, schema) == 1  # exported again next time (at-least-once)
        assert [e for e in log_rows(conn, schema) if e["operation"] == "export_to_1c"] == []


def _export_asset_body(url, schema, outbox, **config):
    import logging

    from onec_pipeline.defs.customers import CustomersExportConfig, run_customers_export
    from onec_pipeline.defs.resources import CatalogDatabase

    db = CatalogDatabase(database_url=url, db_schema=schema)
    return run_customers_export(
        CustomersExportConfig(outbox_dir=str(outbox), **config), db, logging.getLogger("test")
    )


def test_export_asset_dry_run_and_failure_leave_no_file_and_rows_pending(
    db_url_schema, tmp_path, monkeypatch
):
    url, schema = db_url_schema
    engine = migrate(url, schema)
    schema_ = None if engine.dialect.name == "sqlite" else schema
    with engine.begin() as conn:
        site_row(conn, schema_, name="Ждёт", email="w@x.ru")
    outbox = tmp_path / "outbox"

    result = _export_asset_body(url, schema, outbox, dry_run=True)
    assert result.metadata["exported"].value == 1 and result.metadata["dry_run"].value is True
    assert list(outbox.iterdir()) == []

    def broken(*args, **kwargs):
        raise RuntimeError("failure after the file was written")

    monkeypatch.setattr(cs.export, "customer_counts", broken)  # export_to_outbox lives in cs.export
    with pytest.raises(RuntimeError):
        _export_asset_body(url, schema, outbox)
    assert list(outbox.iterdir()) == []
    monkeypatch.undo()
    with engine.connect() as conn:
        assert cs.pending_export_count(conn, schema_) == 1
        assert log_rows(conn, schema_) == []

    result = _export_asset_body(url, schema, outbox)
    assert result.metadata["exported"].value == 1 and len(list(outbox.iterdir())) == 1
    engine.dispose()
