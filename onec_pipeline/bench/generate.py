"""The generate stage: the synthetic UT 11 split package the run measures (``onec_pipeline.synth``)."""

from __future__ import annotations

from typing import Any

from onec_pipeline.synth import generate_upload

# the record families the generator writes, for the stage's row count
_GENERATED = ("groups", "goods", "offers", "prices", "rests", "customers")


def generate_files(out_dir: str, offers: int, seed: int, workers: int, **extra: Any) -> dict[str, Any]:
    """Stage: write the upload (``extra``: more ``generate_upload`` arguments, e.g. a prices-only upload)."""
    files = generate_upload(out_dir, offers=offers, seed=seed, workers=workers, **extra)
    size = sum(path.stat().st_size for path in files)
    counts = files.counts
    rows = sum(counts[family] for family in _GENERATED)
    return {"rows": rows, "files": len(files), "mb": round(size / 1e6, 1), "counts": counts}
