"""Helpers for the reliability tests: real servers, real keys, and a trainer that can be killed.

Run as a program it is the "trainer" the crash tests kill with SIGKILL: it writes a bundle
and promotes it through the real ModelRegistry, and at a named point of that sequence prints
`PAUSED <point>` and sleeps, so the test kills it exactly there (and, with `--point none`,
at whatever moment a random timer picks):

    python -m tests.reliability_fixtures MODELS_DIR --point model-write|before-rename|...
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# Petition text carrying PII of every kind mask_pii knows; tests grep logs for these strings.
PHONE = "13812345678"
ID_CARD = "11010519491231002X"
LANDLINE = "010-62345678"
EMAIL = "zhangsan@example.com"
PII_STRINGS = (PHONE, ID_CARD, "62345678", EMAIL)
PII_PETITION = {
    "title": f"拖欠工资 联系电话{PHONE}",
    "body": f"我叫张三，身份证号{ID_CARD}，手机{PHONE}，座机{LANDLINE}，邮箱{EMAIL}，公司拖欠工资三个月。",
}

PAUSE_POINTS = (
    "model-write",  # halfway through writing model.joblib inside the hidden temporary folder
    "metadata-write",  # model written, metadata.json written but not yet fsynced/renamed
    "before-rename",  # the temporary folder is complete, not yet renamed into place
    "pointer-write",  # promotion: the new live.json is written to a temporary file, not renamed
    "pointer-replaced",  # promotion: live.json renamed into place, folder not yet fsynced
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(database_url: str, role: str, name: str | None = None) -> str:
    """A real API key for `role` in the database at `database_url` (migrated if new)."""
    from triage.store.engine import Store
    from triage.store.keys import create_key

    store = Store(database_url)
    try:
        with store.session(write=True) as session:
            key, _ = create_key(session, role, name)
    finally:
        store.dispose()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def add_bundle(models_dir: Path, tag: str = "copy") -> str:
    """A second complete bundle (the live model written again under a new version)."""
    from training.bundles import ModelRegistry, new_version
    from triage.classifier import PetitionClassifier

    registry = ModelRegistry(models_dir)
    live = registry.live_version()
    model = PetitionClassifier.load(registry.model_path(live))
    metadata = {k: v for k, v in registry.metadata(live).items() if k != "version"}
    version = new_version(tag)
    registry.write_bundle(version, model.save, {**metadata, "note": f"copy of {live}"})
    return version


def wait_for_line(proc: subprocess.Popen, prefix: str, timeout: float) -> str:
    """The first stdout line of `proc` starting with `prefix` (fails on timeout or exit)."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
        if not line and proc.poll() is not None:
            raise AssertionError(f"trainer exited with {proc.returncode} before printing {prefix!r}")
    raise AssertionError(f"trainer did not print {prefix!r} within {timeout} s")


def start_trainer(models_dir: Path, point: str, cycles: int = 1) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "tests.reliability_fixtures", str(models_dir), "--point", point]
    cmd += ["--cycles", str(cycles)]
    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, text=True)


def kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# -- the trainer program ----------------------------------------------------------------------


def _pause(point: str) -> None:
    print(f"PAUSED {point}", flush=True)
    time.sleep(120)  # the test kills us here; if it does not, the test fails on its timeout


def _trainer(models_dir: Path, point: str, cycles: int) -> None:
    """Write and promote `cycles` bundles, pausing at `point` (real registry code throughout)."""
    import joblib

    import training.bundles as bundles
    from training.bundles import ModelRegistry, new_version
    from triage.classifier import PetitionClassifier

    registry = ModelRegistry(models_dir)
    live = registry.live_version()
    model = PetitionClassifier.load(registry.model_path(live))
    metadata = {k: v for k, v in registry.metadata(live).items() if k != "version"}

    def save_model(path: Path) -> None:
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)
        data = buffer.getvalue()
        with open(path, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
            if point == "model-write":
                _pause(point)
            fh.write(data[len(data) // 2 :])

    real_fsync, real_rename, real_replace = os.fsync, os.rename, os.replace
    stage = {"name": "bundle"}

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if (
            point == "metadata-write"
            and stage["name"] == "bundle"
            and os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".metadata.json")
        ):
            _pause(point)

    def rename(src, dst) -> None:
        if point == "before-rename" and stage["name"] == "bundle":
            _pause(point)
        real_rename(src, dst)

    def replace(src, dst) -> None:
        if point == "pointer-write" and stage["name"] == "promote":
            _pause(point)
        real_replace(src, dst)
        if point == "pointer-replaced" and stage["name"] == "promote":
            _pause(point)

    bundles.os.fsync, bundles.os.rename, bundles.os.replace = fsync, rename, replace  # type: ignore[assignment]
    for i in range(cycles):
        stage["name"] = "bundle"
        version = new_version(f"c{i}")
        registry.write_bundle(version, save_model, {**metadata, "note": f"crash-test cycle {i}"})
        stage["name"] = "promote"
        registry.promote(version)
        print(f"PROMOTED {version}", flush=True)
    print("DONE", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models_dir", type=Path)
    parser.add_argument("--point", choices=(*PAUSE_POINTS, "none"), default="none")
    parser.add_argument("--cycles", type=int, default=1)
    args = parser.parse_args()
    _trainer(args.models_dir, args.point, args.cycles)


if __name__ == "__main__":
    main()
