"""The media store on disk: names by content, atomic writes, refusals with a reason, the sweep."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from onec_pipeline.media import MediaStore, PictureRefused, image_format, safe_source

from .images import jpeg, png, write


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_image_signatures():
    assert image_format(jpeg()) == "JPEG"
    assert image_format(png()) == "PNG"
    assert image_format(b"GIF89a\x01\x00") == "GIF"
    assert image_format(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert image_format(b"<?php echo 1; ?>") is None
    assert image_format(b"") is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../../etc/passwd.jpg", "leaves the upload"),
        ("import_files/../../x.png", "leaves the upload"),
        ("import_files\\..\\..\\x.png", "leaves the upload"),
        ("/etc/x.jpg", "absolute path"),
        ("C:\\1c\\pictures\\x.jpg", "absolute path"),
        ("import_files/shell.php", "extension .php"),
        ("import_files/noext", "extension none"),
        ("import_files/a\x00.jpg", "NUL"),
        ("  ", "empty path"),
    ],
)
def test_hostile_paths_are_refused_with_the_reason(raw, reason):
    with pytest.raises(PictureRefused, match=reason.replace(".", r"\.")):
        safe_source(raw)


def test_paths_are_normalised():
    assert safe_source(" import_files\\ab\\X.JPG ") == "import_files/ab/X.JPG"
    assert safe_source("./import_files//ab/x.png") == "import_files/ab/x.png"


def test_put_stores_once_by_content_atomically(tmp_path):
    data = jpeg(7)
    digest = hashlib.sha256(data).hexdigest()
    a = write(tmp_path / "up" / "a.jpg", data)
    b = write(tmp_path / "up" / "other" / "b.JPG", data)
    store = MediaStore(tmp_path / "media", max_bytes=10_000)

    first = store.put(a, "jpg")
    assert (first.media, first.sha256, first.size, first.new, first.written) == (
        f"{digest[:2]}/{digest}.jpg",
        digest,
        len(data),
        True,
        True,
    )
    assert store.path_of(first.media).read_bytes() == data
    again = store.put(b, "jpg")  # same content elsewhere: the same file, nothing written
    assert (again.media, again.new, again.written) == (first.media, False, False)
    assert _tree(tmp_path / "media") == [digest[:2], first.media]  # no temporary file left behind
    assert store.files() == [(first.media, store.path_of(first.media))]


def test_dry_run_writes_nothing(tmp_path):
    store = MediaStore(tmp_path / "media", max_bytes=10_000)
    stored = store.put(write(tmp_path / "p.png", png()), "png", dry_run=True)
    assert stored.new and not stored.written
    assert not (tmp_path / "media").exists()


def test_refused_files(tmp_path):
    store = MediaStore(tmp_path / "media", max_bytes=200)
    fake = write(tmp_path / "fake.jpg", b"<html>not a picture</html>")
    with pytest.raises(PictureRefused, match="not an image: its first bytes"):
        store.put(fake, "jpg")
    huge = write(tmp_path / "huge.png", png(size=2) + b"\x00" * 500)
    with pytest.raises(PictureRefused, match="over the size cap ONEC_MEDIA_MAX_BYTES"):
        store.put(huge, "png")
    with pytest.raises(PictureRefused, match="empty file"):
        store.put(write(tmp_path / "empty.png", b""), "png")
    assert not (tmp_path / "media").exists()


def test_sweep_keeps_referenced_and_recent_files(tmp_path):
    store = MediaStore(tmp_path / "media", max_bytes=10_000)
    kept = store.put(write(tmp_path / "1.png", png((1, 2, 3))), "png")
    old = store.put(write(tmp_path / "2.png", png((4, 5, 6))), "png")
    recent = store.put(write(tmp_path / "3.jpg", jpeg(9)), "jpg")
    long_ago = time.time() - 10 * 86400
    for media in (kept.media, old.media):
        os.utime(store.path_of(media), (long_ago, long_ago))
    crashed = store.path_of(old.media).parent / ".tmp-dead-x.png"
    crashed.write_bytes(b"half")
    os.utime(crashed, (long_ago, long_ago))

    result = store.sweep({kept.media, "zz/not-a-file.png"}, older_than=time.time() - 86400)
    assert (result.removed, result.kept_referenced, result.kept_recent, result.temp_removed) == (1, 1, 1, 1)
    assert result.removed_bytes == old.size
    assert [media for media, _ in store.files()] == sorted([kept.media, recent.media])
    assert not crashed.exists()
