"""``--profile``: py-spy samples the import stages (all their subprocesses); the hottest frames of the
package are summarised into the stage's detail."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

Profiler = tuple["subprocess.Popen[bytes]", Path]


def _py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start_profiler(pid: int, profile_dir: Path, name: str) -> Profiler | None:
    """py-spy (sampling, all subprocesses) on a stage worker; None when py-spy is not installed."""
    exe = _py_spy()
    if exe is None:
        return None
    profile_dir.mkdir(parents=True, exist_ok=True)
    out = profile_dir / ("".join(ch if ch.isalnum() else "_" for ch in name) + ".txt")
    cmd = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--format",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, out


def stop_profiler(profiler: Profiler, top: int = 15) -> dict[str, Any]:
    proc, out = profiler
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    return {"file": str(out), **summarise_profile(out, top)}


def _frame(raw: str) -> str:
    """``func (path/file.py:123)`` → ``func (path/file.py)``."""
    name, _, location = raw.partition(" (")
    return f"{name} ({location.rstrip(')').rsplit(':', 1)[0]})" if location else name


def summarise_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive shares of the hottest frames of a py-spy ``--format raw`` file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame(raw) for raw in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return {}
    ours = [
        (frame, samples)
        for frame, samples in inclusive.most_common()
        if "onec_pipeline/" in frame and "onec_pipeline/bench/" not in frame
    ]
    return {
        "samples": total,
        "self": {frame: round(samples / total, 3) for frame, samples in own.most_common(top)},
        "inclusive": {frame: round(samples / total, 3) for frame, samples in ours[: top * 2]},
    }
