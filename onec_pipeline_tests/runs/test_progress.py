"""Progress lines carry the total, the percentage and the time left, by bytes of the files read: the events
``run_import`` hands its caller, the run's log lines and the console line."""

from __future__ import annotations

from dagster import DagsterInstance

from onec_pipeline import synth
from onec_pipeline.cli.import_cmd import progress_update
from onec_pipeline.commerceml import Entity, discover_upload
from onec_pipeline.defs.importing import ByteMeter, RecordCounter
from onec_pipeline.defs.resources import ImportProgress
from onec_pipeline.runs import run_import


def test_progress_events_by_bytes_of_the_files_read(tmp_path):
    upload = tmp_path / "upload"
    synth.generate_upload(upload, offers=12_000, warehouses=2, layout="package")
    events: list[tuple[str, str, dict]] = []
    with DagsterInstance.ephemeral() as instance:
        summary = run_import(
            upload,
            database_url=f"sqlite:///{tmp_path / 'catalog.sqlite3'}",
            archive_dir=tmp_path / "archive",
            instance=instance,
            log_progress=lambda event, asset, details: events.append((event, asset, details)),
        )
        assert summary.success, summary.error
        lines = [
            e.user_message
            for e in instance.all_logs(summary.run_id)
            if "records/s" in (e.user_message or "") and e.user_message.startswith("prices [")
        ]
    prices = [d for event, asset, d in events if event == "progress" and asset == "prices"]
    assert len(prices) >= 3  # 36,000 prices: one event every 10,000 records
    # the files the prices asset reads: prices___ and the classifier holding the price types
    wanted = {Entity.PRICE_TYPES, Entity.PRICES}
    prices_bytes = sum(h.size for h in discover_upload(upload).files if h.entities & wanted)
    assert {d["total_bytes"] for d in prices} == {prices_bytes}
    percents = [d["percent"] for d in prices]
    assert percents == sorted(percents) and 0 < percents[0] < percents[-1] <= 100
    assert all(d["eta_seconds"] >= 0 for d in prices)
    # the run's own log lines say the same: "prices [key]: 10,000 records · 1.2 MB of 3.4 MB (33%) · …"
    assert lines and all(" of " in line and "%)" in line and " left" in line for line in lines)
    assert "10,000 records" in lines[0]


def test_progress_line_and_console_fields():
    meter = ByteMeter({"a.xml": 3_000_000, "b.xml": 1_000_000})
    meter.reached("a.xml", 1_000_000)
    meter.reached("a.xml", 500)  # a second open (the prolog check) never moves it back
    counter = RecordCounter(None, "offers", "K", ImportProgress(), meter=meter)  # type: ignore[arg-type]
    counter.count = 10_000
    assert counter.line(2.0) == (
        "offers [K]: 10,000 records · 1.0 MB of 4.0 MB (25%) · 5,000 records/s · about 6 s left"
    )
    update = progress_update(
        {
            "records": 10_000,
            "rate": 5000.0,
            "bytes": 1_000_000,
            "total_bytes": 4_000_000,
            "percent": 25.0,
            "eta_seconds": 366,
        }
    )
    assert update == {
        "total": 4_000_000,
        "completed": 1_000_000,
        "detail": "10,000 records · 25% · 5,000/s · 6:06 left",
    }


def test_progress_lines_are_spaced_in_time_while_every_step_is_reported(monkeypatch):
    import onec_pipeline.defs.importing as importing

    class Steps(ImportProgress):
        def __init__(self) -> None:
            self.steps: list[int] = []

        def advance(self, asset_name, records, seconds, **details) -> None:  # type: ignore[override]
            self.steps.append(records)

    class Lines:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def info(self, line: str) -> None:
            self.lines.append(line)

    clock = iter(float(t) for t in range(1000))  # one second per call of perf_counter
    monkeypatch.setattr(importing.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(importing, "LOG_EVERY_SECONDS", 2.5)
    log, steps = Lines(), Steps()
    counter = RecordCounter(log, "rests", "K", steps, every=10)  # type: ignore[arg-type]
    assert sum(1 for _ in counter.wrap(range(60))) == 60
    assert steps.steps == [10, 20, 30, 40, 50, 60]  # the callback: every step
    # the log: the first step, then only once 2.5 s have passed since the last line (a second per step)
    assert [line.split(":")[1].split(" records")[0].strip() for line in log.lines] == ["10", "40"]


def test_a_failure_reads_the_store_error_not_the_driver_error_chained_under_it():
    """SQLAlchemy chains the driver's error under the error our engine raises in its place (the database
    stopped answering): the run's summary shows ours, which says what happened and what to do."""
    from types import SimpleNamespace

    from dagster._utils.error import SerializableErrorInfo

    from onec_pipeline.runs.summary import _failure_message

    driver = SerializableErrorInfo("server closed the connection unexpectedly", [], "OperationalError")
    ours = SerializableErrorInfo(
        "the catalog database x lost the connection during 'ANALYZE …': … re-run the import",
        [],
        "DatabaseUnresponsiveError",
        cause=driver,
    )
    top = SerializableErrorInfo('Error occurred while executing op "rests":', [], "Error", cause=ours)
    event = SimpleNamespace(step_failure_data=SimpleNamespace(error=top))
    message = _failure_message(event)  # type: ignore[arg-type]
    assert "lost the connection" in message and "re-run" in message
    assert "server closed" not in message
    # a chain without one of ours still ends at its innermost message (a Failure's readable text)
    plain = SerializableErrorInfo("step failed:", [], "Error", cause=driver)
    assert _failure_message(SimpleNamespace(step_failure_data=SimpleNamespace(error=plain))).endswith(  # type: ignore[arg-type]
        "server closed the connection unexpectedly"
    )
