"""intake.retention: which archived uploads go, and removing them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from onec_pipeline import intake


def _key(dt: datetime, h: str = "0badc0de") -> str:
    return f"{dt:%Y%m%dT%H%M%S}-{h}"


def test_retention_never_removes_newest_full_export():
    now = datetime(2026, 11, 22, 12, 0)
    old_full = _key(now - timedelta(days=200), "aaaaaaaa")
    older_full = _key(now - timedelta(days=300), "bbbbbbbb")
    old_delta = _key(now - timedelta(days=100), "cccccccc")
    recent = _key(now - timedelta(days=5), "dddddddd")
    items = [
        intake.RetentionItem(older_full, True),
        intake.RetentionItem(old_full, True),
        intake.RetentionItem(old_delta, False),
        intake.RetentionItem(recent, False),
        intake.RetentionItem("not-a-key", False),
    ]
    assert intake.select_for_retention(items, now=now, retention_days=90) == [older_full, old_delta]
    # a newer full export inside the window releases the old one
    newer_full = _key(now - timedelta(days=1), "eeeeeeee")
    items.append(intake.RetentionItem(newer_full, True))
    assert intake.select_for_retention(items, now=now, retention_days=90) == [older_full, old_full, old_delta]


def test_remove_archived_deletes_dir_and_zip(tmp_path):
    key = _key(datetime(2020, 1, 1))
    (tmp_path / key).mkdir()
    (tmp_path / key / "import.xml").write_text("<a/>")
    (tmp_path / f"{key}.zip").write_bytes(b"PK")
    intake.remove_archived(tmp_path, key)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        intake.remove_archived(tmp_path, "../etc")
