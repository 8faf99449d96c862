"""The publisher between the reader and the store: pictures resolved per record, one lookup per path,
rejects before their record, paths relative to the XML file's directory first (as Bitrix reads them)."""

from __future__ import annotations

import os

import pytest

from onec_pipeline.commerceml.records import Entity, Offer, Price, Product, Reject, Source
from onec_pipeline.media import MediaStore, PicturePublisher

from .images import jpeg, png, write


def test_records_get_their_pictures_and_rejects_come_first(tmp_path):
    upload = tmp_path / "upload"
    write(upload / "goods" / "1" / "import_files" / "a.jpg", jpeg(3))  # beside the package's XML file
    write(upload / "import_files" / "b.png", png())  # at the upload's root
    outside = write(tmp_path / "secret.png", png((1, 1, 1)))
    (upload / "import_files" / "link.png").symlink_to(outside)
    store = MediaStore(tmp_path / "media", max_bytes=10_000)
    publisher = PicturePublisher(upload, store, dry_run=False)

    source = Source("goods/1/import.xml", 7)
    product = Product("p1", "P", images=["import_files/a.jpg", "import_files/b.png", "import_files/link.png"])
    product.source = source
    twin = Product("p2", "Q", images=["import_files/b.png", "import_files/gone.jpg"], source=source)
    offer = Offer("p1#c", "p1", "c", images=["import_files/b.png"], source=Source("offers.xml", 3))
    price = Price("p1#c", "pt", 1)  # not a picture record: passes untouched
    out = list(publisher.wrap([product, twin, offer, price]))

    assert [type(r).__name__ for r in out] == ["Reject", "Product", "Product", "Offer", "Price"]
    reject = out[0]
    assert isinstance(reject, Reject)
    assert (reject.entity, reject.entity_id, reject.source) == (Entity.GOODS, "p1", source)
    assert reject.reason == "picture 'import_files/link.png': the path leads out of the upload (a link)"
    assert [(p.source, p.position, p.media is not None) for p in product.pictures or []] == [
        ("import_files/a.jpg", 0, True),
        ("import_files/b.png", 1, True),
    ]
    assert [(p.source, p.media) for p in twin.pictures or []] == [
        ("import_files/b.png", product.pictures[1].media),
        ("import_files/gone.jpg", None),
    ]
    assert offer.pictures is not None and offer.pictures[0].media == product.pictures[1].media
    report = publisher.report
    assert (report.references, report.stored, report.known, report.missing, report.rejected) == (
        6,
        2,
        0,
        1,
        1,
    )
    assert report.missing_sample == ["import_files/gone.jpg"]
    assert sorted(media for media, _ in store.files()) == sorted(p.media for p in product.pictures)
    assert not any(path.read_bytes() == outside.read_bytes() for _, path in store.files())


def test_a_file_already_stored_is_only_touched(tmp_path):
    upload = tmp_path / "upload"
    write(upload / "import_files" / "b.png", png())
    store = MediaStore(tmp_path / "media", max_bytes=10_000)
    first = list(
        PicturePublisher(upload, store, dry_run=False).wrap(
            [Product("p", None, images=["import_files/b.png"])]
        )
    )
    (media, path) = store.files()[0]
    os.utime(path, (0, 0))
    again = PicturePublisher(upload, store, dry_run=True)
    list(again.wrap([Product("p", None, images=["import_files/b.png"])]))
    assert (again.report.stored, again.report.known) == (0, 1)
    assert path.stat().st_mtime == 0  # a dry run does not even touch it
    real = PicturePublisher(upload, store, dry_run=False)
    list(real.wrap([Product("p", None, images=["import_files/b.png"])]))
    assert path.stat().st_mtime > 0  # named again: its retention period starts again
    assert first[0].pictures[0].media == media


def test_a_path_the_upload_lacks_keeps_the_file_the_catalog_names_if_it_is_still_stored(tmp_path):
    store = MediaStore(tmp_path / "media", max_bytes=10_000)
    kept = store.put(write(tmp_path / "old" / "a.png", png((7, 7, 7))), "png")
    gone = store.put(write(tmp_path / "old" / "b.jpg", jpeg(8)), "jpg")
    store.path_of(gone.media).unlink()  # removed by retention since
    asked = []

    def earlier():
        asked.append(1)
        return {"import_files/a.png": kept.media, "import_files/b.jpg": gone.media}

    (tmp_path / "upload").mkdir()
    publisher = PicturePublisher(tmp_path / "upload", store, dry_run=False, earlier=earlier)
    product = Product("p", None, images=["import_files/a.png", "import_files/b.jpg"])
    list(publisher.wrap([product, Product("q", None, images=["import_files/a.png"])]))
    assert [(p.media, p.sha256, p.size) for p in product.pictures or []] == [
        (kept.media, kept.sha256, kept.size),
        (None, None, None),
    ]
    assert (publisher.report.carried, publisher.report.missing, len(asked)) == (1, 1, 1)


def test_an_unreadable_picture_is_refused_an_unwritable_store_fails(tmp_path):
    upload = tmp_path / "upload"
    (upload / "import_files").mkdir(parents=True)
    (upload / "import_files" / "dangling.png").symlink_to(upload / "import_files" / "nothing.png")
    write(upload / "import_files" / "ok.png", png())
    blocked = tmp_path / "media-is-a-file"
    blocked.write_text("not a directory")
    publisher = PicturePublisher(upload, MediaStore(blocked, max_bytes=10_000), dry_run=False)
    out = list(publisher.wrap([Product("p", None, images=["import_files/dangling.png"])]))
    assert isinstance(out[0], Reject) and "cannot be read: No such file or directory" in out[0].reason
    with pytest.raises(OSError):  # the store cannot be written: the import fails, nothing is half-done
        list(publisher.wrap([Product("q", None, images=["import_files/ok.png"])]))
