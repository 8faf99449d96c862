"""``quarantined_upload``: a failed run that keeps a quarantined upload visible in the Runs list.

When the upload sensor cannot scan, extract, decode or key an upload (an encrypted or broken zip, a file
that is not whole or not decodable, a DOCTYPE, a file name that is not UTF-8…), ``intake.quarantine_upload``
moves it whole to ``ONEC_QUARANTINE_DIR/<when>-<name>/`` with its reason, the tick goes on with the other
uploads, and the tick requests one run of this job: its one step fails with the reason, so the refusal
stays in Runs (and in alerts) after the tick's log has scrolled away. Nothing is deleted.
"""

from dagster import Config, Failure, MetadataValue, RunRequest, job, op

from onec_pipeline import intake

from ..constants import INCOMING_TAG

QUARANTINE_JOB = "quarantined_upload"
QUARANTINE_TAG = "onec/quarantined"


class QuarantinedUpload(Config):
    """The quarantine record (the sensor's run request fills this in)."""

    incoming: str  # the upload's name in the incoming directory
    reason: str
    file: str = ""  # the file of the upload the refusal names
    line: int = 0  # the line in it (0: none)
    path: str = ""  # where the upload is now
    quarantined_at: str = ""


@op(description="Fails with the reason an upload was quarantined: a failed run that alerts can catch.")
def report_quarantined_upload(config: QuarantinedUpload) -> None:
    where = f"{config.file}:{config.line}" if config.file and config.line else config.file
    raise Failure(
        description=(
            f"upload {config.incoming!r} was quarantined: {config.reason}"
            + (f" ({where})" if where and where not in config.reason else "")
            + f". It is kept whole at {config.path} with the reason in .onec-quarantine.json; fix it in 1C "
            "and send it again (or repair the files and move them back into the incoming directory)."
        ),
        metadata={
            "incoming": MetadataValue.text(config.incoming),
            "reason": MetadataValue.text(config.reason),
            "file": MetadataValue.text(where or ""),
            "path": MetadataValue.path(config.path or config.incoming),
            "quarantined_at": MetadataValue.text(config.quarantined_at),
        },
        allow_retries=False,
    )


@job(
    name=QUARANTINE_JOB,
    tags={QUARANTINE_TAG: "true"},
    description="Requested by onec_upload_sensor for an upload it quarantined: its one step fails with the "
    "reason (visible in Runs, caught by alerts). The upload is in ONEC_QUARANTINE_DIR.",
)
def quarantined_upload() -> None:
    report_quarantined_upload()


def quarantine_request(record: intake.QuarantineRecord) -> RunRequest:
    """The run that reports one quarantined upload (run key: its quarantine directory, unique)."""
    config = {
        "incoming": record.name,
        "reason": record.reason,
        "file": record.file or "",
        "line": record.line or 0,
        "path": record.path,
        "quarantined_at": record.quarantined_at,
    }
    return RunRequest(
        run_key=f"quarantine:{record.path}",
        job_name=QUARANTINE_JOB,
        run_config={"ops": {"report_quarantined_upload": {"config": config}}},
        tags={INCOMING_TAG: record.name[-200:], QUARANTINE_TAG: "true"},
    )
