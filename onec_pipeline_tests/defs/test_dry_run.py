"""Honest dry runs: the ``dry_run_upload`` job re-reads an applied upload without ``force``, records
observations (never materialisations: the latest materialisation stays the real one), is tagged, and the
import jobs have no ``dry_run`` switch a launchpad could keep on."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance, DagsterInvalidConfigError, validate_run_config

from onec_pipeline.defs.definitions import defs
from onec_pipeline.defs.resources import CatalogDatabase, UploadDirs
from onec_pipeline.runs import run_import


def test_dry_run_of_an_applied_upload_is_observed_not_materialised(samples_dir, tmp_path):
    db = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    archive = tmp_path / "archive"
    with DagsterInstance.ephemeral() as instance:
        real = run_import(samples_dir / "cml-203", database_url=db, archive_dir=archive, instance=instance)
        assert real.success, real.error
        goods = AssetKey("goods")
        latest = instance.get_latest_materialization_event(goods)
        assert latest is not None and latest.run_id == real.run_id

        # the CLI path: already applied, read again all the same, rolled back, reported as a dry run
        dry = run_import(
            samples_dir / "cml-203", database_url=db, archive_dir=archive, instance=instance, dry_run=True
        )
        assert dry.success, dry.error
        assert dry.key == real.key and dry.dry_run
        assert dry.assets["goods"].metadata["dry_run"] is True
        assert "already_applied" not in dry.assets["goods"].metadata
        assert dry.assets["goods"].count("unchanged") == real.assets["goods"].count("inserted") > 0

        # the UI path: the job with its launchpad defaults (no config at all)
        job = defs.resolve_job_def("dry_run_upload")
        result = job.execute_in_process(
            instance=instance,
            partition_key=real.key,
            resources={
                "catalog_db": CatalogDatabase(database_url=db),
                "upload_dirs": UploadDirs(archive_dir=str(archive)),
            },
        )
        assert result.success
        assert result.dagster_run.tags["onec/dry_run"] == "true"
        assert result.dagster_run.tags["onec/import"] == "true"  # queued behind imports like one

        for run_id in (dry.run_id, result.run_id):
            run = instance.get_run_by_id(run_id)
            assert run.tags["onec/dry_run"] == "true"
            observed = [
                e
                for e in instance.all_logs(run_id)
                if e.dagster_event and e.dagster_event.event_type_value == "ASSET_OBSERVATION"
            ]
            assert {e.dagster_event.asset_key.path[-1] for e in observed} >= {"goods", "offers", "prices"}
            assert {e.dagster_event.partition for e in observed} == {real.key}
            assert not any(
                e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
                for e in instance.all_logs(run_id)
            )
        # the latest materialisation is still the real import's
        assert instance.get_latest_materialization_event(goods).run_id == real.run_id
        observation = instance.fetch_observations(goods, limit=1).records[0].asset_observation
        assert observation.metadata["dry_run"].value is True and observation.metadata["unchanged"].value > 0


def test_import_jobs_have_no_dry_run_switch():
    job = defs.resolve_job_def("import_catalog")
    assert validate_run_config(job, {"ops": {"goods": {"config": {"force": True}}}})
    with pytest.raises(DagsterInvalidConfigError, match="dry_run"):
        validate_run_config(job, {"ops": {"goods": {"config": {"dry_run": True}}}})
