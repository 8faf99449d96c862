"""``onec-pipeline demo`` and ``onec-pipeline demo-data``: the one-command local demo and its data.

``demo`` prepares a local Dagster instance under ``$ONEC_HOME/dagster_home`` (the embedded SQLite
instance of ``deploy/local/dagster.yaml``), drops a generated 1C upload with a ``.ready`` marker into the
incoming directory, starts the 1C exchange endpoint (``onec-pipeline exchange serve``, a child process in the
same process group, so Ctrl-C stops it too) and replaces itself with ``dagster dev`` serving the
``onec_pipeline`` code location. The upload sensor is RUNNING by default, so the upload is imported within a
minute of start, and so is anything 1C or ``curl`` sends to the endpoint.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import click

from onec_pipeline.settings import Settings

READY_MARKER = ".ready"  # onec_pipeline.intake.READY_MARKER (not imported: keep --help cheap)
LOCATION_NAME = "onec_pipeline"
DEFS_MODULE = "onec_pipeline.defs.definitions"
LOCAL_INSTANCE_CONFIG = Path("deploy") / "local" / "dagster.yaml"

WORKSPACE_YAML = f"""\
# Written by `onec-pipeline demo`: the code location served by `dagster dev`, under the same location
# name as in production (docker/workspace.yaml).
load_from:
  - python_module:
      module_name: {DEFS_MODULE}
      location_name: {LOCATION_NAME}
"""


def local_instance_config() -> Path:
    """``deploy/local/dagster.yaml`` of the checkout the package runs from (or of the working directory)."""
    package_root = Path(__file__).resolve().parents[2]
    for base in (package_root, Path.cwd()):
        candidate = base / LOCAL_INSTANCE_CONFIG
        if candidate.is_file():
            return candidate
    raise click.ClickException(
        f"{LOCAL_INSTANCE_CONFIG} not found beside the package ({package_root}) or in {Path.cwd()}; "
        "run the demo from a checkout of the repository (make demo)"
    )


EXPORT_SPREAD = timedelta(minutes=1)  # the generated files are stamped within this span after the start


def export_start(exported_at: datetime | None = None) -> datetime:
    """When a generated upload's export starts: ``exported_at``, else now (to the second) less
    ``EXPORT_SPREAD``, so that every file's ДатаФормирования lies in the last minute and a newer upload
    always sorts above an older one."""
    if exported_at is not None:
        return exported_at
    return datetime.now().replace(microsecond=0) - EXPORT_SPREAD


def write_upload(
    out_dir: Path, *, offers: int | None = None, ready: bool = False, exported_at: datetime | None = None
) -> list[Path]:
    """Generate a realistic 1C upload into ``out_dir`` (created): the demo package of
    ``synth.generate_demo_upload``, or the same shape with ``offers`` offers, stamped ``export_start``
    (``exported_at``, else the current time). With ``ready`` the ``.ready`` marker is written last, once
    every file is complete. Returns the written files (with ``.counts``)."""
    from onec_pipeline import synth

    out_dir = Path(out_dir)
    start = export_start(exported_at)
    if offers is None:
        written = synth.generate_demo_upload(out_dir, exported_at=start)
    else:
        written = synth.generate_upload(
            out_dir,
            offers=offers,
            price_types=3,
            warehouses=4,
            customers=25,
            layout="package",
            seed=2026,
            subfolders=True,
            exported_at=start,
        )
    if ready:
        (out_dir / READY_MARKER).touch()
    return written


def seed_upload(import_dir: Path) -> Path:
    """Drop a complete generated upload into ``import_dir`` atomically.

    It is generated in a hidden directory of ``import_dir`` (hidden names are ignored by the intake
    scan), marked ``.ready``, then renamed into place: the sensor never sees a half-written upload.
    """
    import_dir.mkdir(parents=True, exist_ok=True)
    name = f"demo-{datetime.now():%Y%m%d-%H%M%S}"
    staging = import_dir / f".staging-{name}-{uuid.uuid4().hex[:6]}"
    try:
        write_upload(staging, ready=True)
        target = import_dir / name
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _has_uploads(*dirs: Path) -> bool:
    return any(d.is_dir() and any(not p.name.startswith(".") for p in d.iterdir()) for d in dirs)


def _dagster_executable() -> str:
    beside = Path(sys.executable).parent / "dagster"
    if beside.exists():
        return str(beside)
    found = shutil.which("dagster")
    if not found:
        raise click.ClickException("the `dagster` command is not installed in this environment")
    return found


def prepare_demo(home: Path, *, seed: bool = True) -> dict[str, str]:
    """Create the demo's directories and instance; seed an upload. Returns the environment for dagster."""
    home = home.resolve()
    previous = os.environ.get("ONEC_HOME")
    os.environ["ONEC_HOME"] = str(home)
    try:
        settings = Settings.from_env()  # honours ONEC_IMPORT_DIR & co. when they are set
    finally:
        if previous is None:
            del os.environ["ONEC_HOME"]
        else:
            os.environ["ONEC_HOME"] = previous
    dagster_home = home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(local_instance_config(), dagster_home / "dagster.yaml")
    (dagster_home / "workspace.yaml").write_text(WORKSPACE_YAML, encoding="utf-8")
    for directory in (settings.import_dir, settings.archive_dir, settings.outbox_dir):
        directory.mkdir(parents=True, exist_ok=True)

    # Migrate the catalog once, up front (as the compose stack's catalog_migrate does): the first run's
    # steps start in parallel processes, and on SQLite their first-use migrations would race.
    from onec_pipeline.store import CatalogStore

    store = CatalogStore(settings.database_url, schema=settings.db_schema)
    try:
        revision = store.upgrade()
    finally:
        store.dispose()
    click.echo(f"catalog at revision {revision}: {settings.database_url}")

    if seed:
        if _has_uploads(settings.import_dir, settings.archive_dir):
            click.echo(f"uploads already present under {home}: not seeding another one")
        else:
            target = seed_upload(settings.import_dir)
            click.echo(f"seeded a generated 1C upload: {target}")

    env = dict(os.environ)
    env.update(
        ONEC_HOME=str(home),
        ONEC_IMPORT_DIR=str(settings.import_dir),
        ONEC_ARCHIVE_DIR=str(settings.archive_dir),
        ONEC_OUTBOX_DIR=str(settings.outbox_dir),
        ONEC_DATABASE_URL=settings.database_url,
        DAGSTER_HOME=str(dagster_home),
    )
    # One process per run instead of one per step: the seeded upload lands within a minute (README).
    env.setdefault("ONEC_EXECUTOR", "in_process")
    return env


DEMO_EXCHANGE_USER = "demo-1c"


def exchange_credentials(env: dict[str, str]) -> tuple[str, str, bool]:
    """1C's user and password for the demo's endpoint: ``ONEC_EXCHANGE_USER`` / ``ONEC_EXCHANGE_PASSWORD``
    when both are set, else a demo user with a random password (printed). Returns (user, password, generated)."""
    user = env.get("ONEC_EXCHANGE_USER", "").strip()
    password = env.get("ONEC_EXCHANGE_PASSWORD", "")
    if user and password:
        return user, password, False
    return DEMO_EXCHANGE_USER, secrets.token_urlsafe(12), True


def start_exchange(env: dict[str, str], host: str, port: int) -> tuple[subprocess.Popen, str, str, bool]:
    """``onec-pipeline exchange serve`` with the demo's environment, as a child of this process (which then
    becomes ``dagster dev``): same process group, so Ctrl-C in the terminal stops both."""
    user, password, generated = exchange_credentials(env)
    child_env = {**env, "ONEC_EXCHANGE_USER": user, "ONEC_EXCHANGE_PASSWORD": password}
    child_env.pop("ONEC_EXCHANGE_PASSWORD_HASH", None)
    child_env.pop("ONEC_EXCHANGE_PASSWORD_FILE", None)
    beside = Path(sys.executable).parent / "onec-pipeline"
    command = str(beside) if beside.exists() else (shutil.which("onec-pipeline") or "onec-pipeline")
    argv = [command, "exchange", "serve", "--host", host, "--port", str(port)]
    return subprocess.Popen(argv, env=child_env), user, password, generated


@click.command("demo")
@click.option("--port", default=3000, show_default=True, type=int, help="Port of the Dagster UI.")
@click.option(
    "--exchange-port",
    default=lambda: int(os.environ.get("ONEC_EXCHANGE_PORT", "").strip() or 8081),
    show_default="8081, or ONEC_EXCHANGE_PORT",
    type=int,
    help="Port of the 1C exchange endpoint (/1c_exchange); 0 does not start it.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the Dagster UI listens on.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="ONEC_HOME for the demo (default: $ONEC_HOME, else ./var).",
)
@click.option("--no-seed", is_flag=True, help="Do not drop a generated upload into the incoming directory.")
def demo(port: int, exchange_port: int, host: str, home: Path | None, no_seed: bool) -> None:
    """Start a local Dagster (UI, daemon, code server) with the upload sensor running and a sample upload,
    and the 1C exchange endpoint at http://HOST:EXCHANGE_PORT/1c_exchange.

    Everything lives under ONEC_HOME: dagster_home/ (SQLite instance), 1c_import/ (drop uploads here),
    archive/, outbox/ and catalog.sqlite3 (unless ONEC_DATABASE_URL points elsewhere).
    """
    home = home or Path(os.environ.get("ONEC_HOME", "").strip() or "./var")
    env = prepare_demo(home, seed=not no_seed)
    if exchange_port:
        _proc, user, password, generated = start_exchange(env, host, exchange_port)
        origin = "demo credentials" if generated else "from ONEC_EXCHANGE_USER / ONEC_EXCHANGE_PASSWORD"
        click.echo(
            f"1C exchange: http://{host}:{exchange_port}/1c_exchange  user {user!r} password {password!r} "
            f"({origin})"
        )
    workspace = Path(env["DAGSTER_HOME"]) / "workspace.yaml"
    argv = [_dagster_executable(), "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
    click.echo(
        f"Dagster UI: http://{host}:{port}  (DAGSTER_HOME={env['DAGSTER_HOME']})\n"
        f"drop 1C uploads into {env['ONEC_IMPORT_DIR']} (a sub-directory or .zip per upload, "
        f"with a {READY_MARKER} marker or left to settle)\n"
        f"catalog: {env['ONEC_DATABASE_URL']}"
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)


@click.command("demo-data")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--offers", type=click.IntRange(min=1), default=None, help="Number of offers to generate.")
@click.option("--ready", is_flag=True, help=f"Write the {READY_MARKER} marker once the upload is complete.")
@click.option(
    "--exported-at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Export time (ДатаФормирования) of the first file, e.g. 2026-11-20T10:15:00: the same time and "
    "options give byte-identical files (tests). Default: the current time, so a new upload is the newest.",
)
def demo_data(out_dir: Path, offers: int | None, ready: bool, exported_at: datetime | None) -> None:
    """Write a generated, realistic 1C upload (split package: groups, goods with properties, offers with
    characteristics, several price types and warehouses, customers) into OUT_DIR, stamped with the current
    time unless --exported-at fixes it."""
    written = write_upload(out_dir, offers=offers, ready=ready, exported_at=exported_at)
    size = sum(Path(p).stat().st_size for p in written)
    counts = getattr(written, "counts", {})
    summary = ", ".join(
        f"{k} {v:,}" for k, v in counts.items() if v and not k.startswith(("deleted", "changed"))
    )
    click.echo(f"wrote {len(written)} files ({size / 1024:,.0f} KiB) to {out_dir}: {summary}")
    click.echo(
        f"exported at {export_start(exported_at):%Y-%m-%dT%H:%M:%S} (ДатаФормирования of its first file)"
    )
    if ready:
        click.echo(f"marked complete with {out_dir / READY_MARKER}")
