"""The model registry backed by the case store: what is live is decided once, for every host.

`ModelRegistry` (training/bundles.py) keeps the pointer in `live.json` beside the bundles: right for
one host, wrong for several, where a promotion on one would change that host's disk only. Here
the case store holds the registry - every version with its metadata and the sha256 of its model
file, and the live pointer per model kind as append-only rows (who made what live, and when) -
while the bundles' files go to the artifact location (`TRIAGE_ARTIFACTS`, the models folder by
default; a shared volume when there are several hosts). Each host keeps a local copy of the
bundles it serves in its models folder, fetched from the artifact location and checked against
the store's sha256: a file that does not match is refused and the model already loaded keeps
serving, with the reason in `/health`.

The local `live.json` remains as this host's copy of the store's pointer, so a host whose store
is unreachable keeps classifying with what it last served; an older installation's `live.json`
and bundles are imported into the store the first time it opens (nothing is lost in an upgrade).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from training.bundles import (
    METADATA_FILE,
    MODEL_FILE,
    POINTER_FILE,
    BundleError,
    BundleInfo,
    ModelRegistry,
    UnknownVersion,
    file_sha256,
)
from triage.atomic import atomic_write_json, fsync_dir
from triage.settings import Settings
from triage.store import model_registry as rows
from triage.store.engine import Store, StoreUnavailable

DEPARTMENT = "department"
REQUEST_TYPE = "request_type"
# Each kind's folder under the models folder and the artifact location (as before the store).
SUBDIRS = {DEPARTMENT: "", REQUEST_TYPE: "request_type"}

_STORE_DOWN = (DBAPIError, StoreUnavailable)


class ArtifactMismatch(BundleError):
    """A bundle's model file does not have the sha256 the registry recorded for it."""


class StoreModelRegistry(ModelRegistry):
    """The registry of one model kind: rows in the store, files in the artifact location, and a
    verified local copy under `root` (this host's models folder)."""

    def __init__(
        self, root: str | Path, store: Store, kind: str = DEPARTMENT, artifacts: str | Path | None = None
    ):
        super().__init__(root)
        self.store = store
        self.kind = kind
        self.artifacts = Path(artifacts) if artifacts is not None else self.root
        self._adopted = False

    # -- the pointer ----------------------------------------------------------------------------

    def _pointer(self) -> dict[str, Any]:
        try:
            self._adopt_local()
            with self.store.session() as session:
                value = rows.pointer(session, self.kind)
        except _STORE_DOWN:
            return super()._pointer()  # the store is down: what this host last served
        value = value or {"live": None, "history": []}
        if value != super()._pointer():
            self._cache_pointer(value)
        return value

    def pointer_stamp(self) -> tuple[Any, ...] | None:
        """The id of the store's newest pointer row: one indexed query per check."""
        try:
            self._adopt_local()
            with self.store.session() as session:
                return ("store", rows.pointer_id(session, self.kind))
        except _STORE_DOWN:
            return ("file", super().pointer_stamp())

    def _write_pointer(self, pointer: dict[str, Any], action: str, actor: str | None) -> None:
        with self.store.session(write=True) as session:
            rows.set_pointer(session, self.kind, pointer, action, actor)
        self._cache_pointer(pointer)

    def _cache_pointer(self, pointer: dict[str, Any]) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.root / POINTER_FILE, pointer)
        except OSError:
            pass  # only a copy for when the store is down; the store's row is what counts

    # -- versions -------------------------------------------------------------------------------

    def _registered(self, version: str) -> rows.RegisteredVersion:
        if not version or version.startswith(".") or "/" in version:
            raise UnknownVersion(f"unknown model version {version!r}")
        try:
            self._adopt_local()
            with self.store.session() as session:
                found = rows.get(session, self.kind, version)
        except _STORE_DOWN:
            return self._local_record(version)  # the store is down: what this host holds
        if found is None:
            # A bundle written beside the store (an older trainer, a copied folder) joins on first use.
            for folder in (self.artifacts / version, self.root / version):
                if _complete(folder):
                    self._register_folder(folder)
                    with self.store.session() as session:
                        found = rows.get(session, self.kind, version)
                    break
        if found is None:
            raise UnknownVersion(f"unknown model version {version!r}")
        return found

    def _local_record(self, version: str) -> rows.RegisteredVersion:
        """This host's copy described by its own metadata, for serving while the store is down."""
        local = self.root / version
        if not _complete(local):
            raise UnknownVersion(f"model {version} has no local copy and the case store is unreachable")
        metadata = json.loads((local / METADATA_FILE).read_text(encoding="utf-8"))
        return rows.RegisteredVersion(
            version, metadata.get("sha256") or file_sha256(local / MODEL_FILE), metadata
        )

    def is_complete(self, version: str) -> bool:
        try:
            self._registered(version)
        except UnknownVersion:
            return False
        return _complete(self.artifacts / version) or _complete(self.root / version)

    def metadata(self, version: str) -> dict[str, Any]:
        return self._registered(version).metadata

    def model_path(self, version: str) -> Path:
        """This host's copy of the bundle's model file, fetched from the artifact location and
        checked against the registry's sha256 (raises ArtifactMismatch when it does not match)."""
        registered = self._registered(version)
        local = self.root / version
        if _complete(local) and file_sha256(local / MODEL_FILE) == registered.sha256:
            return local / MODEL_FILE
        source = self.artifacts / version
        if source == local or not _complete(source):
            if _complete(local):
                raise ArtifactMismatch(_mismatch(version, local, registered.sha256))
            raise BundleError(f"model {version} is not in the artifact location {self.artifacts}")
        self._fetch(source, local, registered.sha256)
        return local / MODEL_FILE

    def _fetch(self, source: Path, local: Path, sha256: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{local.name}-", dir=self.root))
        try:
            shutil.copy2(source / MODEL_FILE, tmp / MODEL_FILE)
            shutil.copy2(source / METADATA_FILE, tmp / METADATA_FILE)
            if file_sha256(tmp / MODEL_FILE) != sha256:
                raise ArtifactMismatch(_mismatch(local.name, source, sha256))
            if local.exists():
                shutil.rmtree(local)  # a damaged local copy: the verified one replaces it
            tmp.rename(local)
            fsync_dir(self.root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def list(self) -> list[BundleInfo]:
        self._adopt_local()
        live = self.live_version()
        with self.store.session() as session:
            registered = rows.versions(session, self.kind)
        return [
            BundleInfo(r.version, self.root / r.version, r.metadata, live=r.version == live)
            for r in registered
        ]

    def write_bundle(self, version: str, save_model, metadata: dict[str, Any]) -> BundleInfo:
        """Write to the artifact location (through a temporary folder), then register it."""
        written = ModelRegistry(self.artifacts).write_bundle(version, save_model, metadata)
        with self.store.session(write=True) as session:
            rows.register(session, self.kind, version, written.metadata["sha256"], written.metadata)
        return BundleInfo(version, written.path, written.metadata)

    def promote(self, version: str, actor: str | None = None) -> str:
        """Verify (and fetch) the bundle before it becomes live: a file that does not match the
        registry's sha256 is refused here rather than on every host that would load it."""
        self.model_path(version)
        return super().promote(version, actor)

    def clean_temporary(self) -> int:
        removed = super().clean_temporary()
        if self.artifacts != self.root:
            removed += ModelRegistry(self.artifacts).clean_temporary()
        return removed

    # -- the upgrade from files -----------------------------------------------------------------

    def _adopt_local(self) -> None:
        """Once per process: register the complete bundles on disk the store does not know, and
        import `live.json` when the store has no pointer for this kind yet."""
        if self._adopted:
            return
        with self.store.session() as session:
            known = {r.version for r in rows.versions(session, self.kind)}
            has_pointer = rows.pointer_id(session, self.kind) is not None
        for base in dict.fromkeys((self.artifacts, self.root)):
            if base.is_dir():
                for folder in sorted(base.iterdir()):
                    if folder.name not in known and not folder.name.startswith(".") and _complete(folder):
                        self._register_folder(folder)
                        known.add(folder.name)
        if not has_pointer:
            local = super()._pointer()
            if local.get("live") in known:
                with self.store.session(write=True) as session:
                    if rows.pointer_id(session, self.kind) is None:
                        rows.set_pointer(session, self.kind, local, "import", None)
        self._adopted = True

    def _register_folder(self, folder: Path) -> None:
        """Register a bundle found on disk (hashing its file), copying it to the artifact location
        when it is only in this host's folder, so that other hosts can fetch it."""
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        sha256 = metadata.get("sha256") or file_sha256(folder / MODEL_FILE)
        shared = self.artifacts / folder.name
        if not _complete(shared):
            self.artifacts.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=self.artifacts))
            shutil.copytree(folder, tmp, dirs_exist_ok=True)
            try:
                tmp.rename(shared)
            except OSError:  # another host copied it first
                shutil.rmtree(tmp, ignore_errors=True)
        with self.store.session(write=True) as session:
            rows.register(session, self.kind, folder.name, sha256, {**metadata, "sha256": sha256})


def _complete(folder: Path) -> bool:
    return (folder / MODEL_FILE).is_file() and (folder / METADATA_FILE).is_file()


def _mismatch(version: str, where: Path, sha256: str) -> str:
    return (
        f"model {version} refused: {where / MODEL_FILE} does not have the sha256 the registry recorded "
        f"({sha256[:12]}…); the model already loaded keeps serving"
    )


def open_registry(settings: Settings, store: Store, kind: str = DEPARTMENT) -> StoreModelRegistry:
    """The registry of one model kind as the service and the CLI use it."""
    sub = SUBDIRS[kind]
    artifacts = settings.artifacts or settings.models_dir
    return StoreModelRegistry(Path(settings.models_dir) / sub, store, kind, Path(artifacts) / sub)
