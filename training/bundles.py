"""Versioned model bundles on disk and the pointer to the live one.

Layout under the models directory::

    models/
      20261122-051500-3f2a1c/   one complete bundle: model.joblib + metadata.json
      live.json                 {"live": "<version>", "history": [older live versions]}

A bundle is written into a hidden temporary folder and renamed into place only when complete,
and `live.json` is replaced with `os.replace`, so a reader - another worker, a restarted server -
never sees a half-written bundle or pointer, whatever moment a crash strikes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.atomic import atomic_write_json, fsync_dir

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
POINTER_FILE = "live.json"


class BundleError(Exception):
    """A requested bundle is missing, incomplete or cannot become live."""


class UnknownVersion(BundleError):
    pass


@dataclass(frozen=True)
class BundleInfo:
    version: str
    path: Path
    metadata: dict[str, Any]
    live: bool = False


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file, read in blocks (a bundle's model file is tens of megabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_version(data_hash: str = "", now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S-%f")
    return f"{stamp}-{(data_hash or os.urandom(8).hex())[:6]}"


class ModelRegistry:
    """The models directory: list, write, promote, roll back, and say which bundle is live."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- reading ------------------------------------------------------------------------------

    def _pointer(self) -> dict[str, Any]:
        path = self.root / POINTER_FILE
        if not path.is_file():
            return {"live": None, "history": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def live_version(self) -> str | None:
        return self._pointer().get("live")

    def pointer_stamp(self) -> tuple[int, int] | None:
        """A cheap token that changes whenever the pointer is replaced (inode and mtime)."""
        try:
            st = (self.root / POINTER_FILE).stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def is_complete(self, version: str) -> bool:
        folder = self.root / version
        return (folder / MODEL_FILE).is_file() and (folder / METADATA_FILE).is_file()

    def metadata(self, version: str) -> dict[str, Any]:
        if not version or version.startswith(".") or "/" in version or not self.is_complete(version):
            raise UnknownVersion(f"unknown model version {version!r}")
        return json.loads((self.root / version / METADATA_FILE).read_text(encoding="utf-8"))

    def model_path(self, version: str) -> Path:
        self.metadata(version)
        return self.root / version / MODEL_FILE

    def list(self) -> list[BundleInfo]:
        if not self.root.is_dir():
            return []
        live = self.live_version()
        bundles = []
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and not folder.name.startswith(".") and self.is_complete(folder.name):
                bundles.append(
                    BundleInfo(
                        folder.name,
                        folder,
                        self.metadata(folder.name),
                        live=folder.name == live,
                    )
                )
        return bundles

    # -- writing ------------------------------------------------------------------------------

    def write_bundle(
        self, version: str, save_model: Callable[[Path], None], metadata: dict[str, Any]
    ) -> BundleInfo:
        """Write a bundle through a hidden temporary folder renamed into place when complete."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / version
        if final.exists():
            raise BundleError(f"model version {version!r} already exists")
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=self.root))
        try:
            save_model(tmp / MODEL_FILE)
            sha256 = file_sha256(tmp / MODEL_FILE)
            atomic_write_json(tmp / METADATA_FILE, {"version": version, **metadata, "sha256": sha256})
            os.rename(tmp, final)
            fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return BundleInfo(version, final, self.metadata(version))

    def _write_pointer(self, pointer: dict[str, Any], action: str, actor: str | None) -> None:
        """Replace the pointer (`live.json` here; a registry backed by the case store adds a row)."""
        atomic_write_json(self.root / POINTER_FILE, pointer)

    def promote(self, version: str, actor: str | None = None) -> str:
        """Make `version` live; the previous live version is remembered for rollback."""
        self.metadata(version)  # raises UnknownVersion for a missing or incomplete bundle
        pointer = self._pointer()
        current = pointer.get("live")
        if current == version:
            return version
        history = [v for v in pointer.get("history", []) if v != version]
        if current:
            history.append(current)
        self._write_pointer({"live": version, "history": history[-50:]}, "promote", actor)
        return version

    def rollback(self, actor: str | None = None) -> str:
        """Return to the most recent earlier live version that is still complete on disk."""
        pointer = self._pointer()
        history = list(pointer.get("history", []))
        while history:
            candidate = history.pop()
            if self.is_complete(candidate):
                self._write_pointer({"live": candidate, "history": history}, "rollback", actor)
                return candidate
        raise BundleError("no earlier live version to roll back to")

    def clean_temporary(self) -> int:
        """Remove folders left by a trainer that crashed mid-write; they were never visible."""
        removed = 0
        if self.root.is_dir():
            for folder in self.root.glob(".tmp-*"):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
