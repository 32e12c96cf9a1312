"""API keys: created once, shown once, stored as a salted scrypt hash.

A key reads `tk_<prefix>_<secret>`. The prefix is public and finds the row; only the secret's
scrypt hash is stored, compared in constant time. scrypt costs tens of milliseconds on purpose,
so a stolen key table cannot be brute-forced; servers cache a successful check for a short time
(see api.auth) so that cost is paid once per key and minute, not on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.store.clock import now
from triage.store.models import ROLES, ApiKey

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}
_DUMMY_SALT = "00" * 16


class KeyManagementError(ValueError):
    """Bad input to key management (unknown role, unknown key)."""


@dataclass(frozen=True)
class Identity:
    key_id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


def _hash(secret: str, salt_hex: str) -> str:
    return hashlib.scrypt(secret.encode("utf-8"), salt=bytes.fromhex(salt_hex), **SCRYPT).hex()


def split_key(token: str) -> tuple[str, str] | None:
    parts = token.strip().split("_")
    if len(parts) != 3 or parts[0] != "tk" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def create_key(session: Session, role: str, name: str | None = None) -> tuple[str, ApiKey]:
    """A new key for `role`; the returned plain key is never stored and cannot be shown again."""
    if role not in ROLES:
        raise KeyManagementError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32).replace("_", "-")
    salt = secrets.token_hex(16)
    row = ApiKey(
        prefix=prefix,
        name=name or f"{role}-{prefix}",
        role=role,
        salt=salt,
        hash=_hash(secret, salt),
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return f"tk_{prefix}_{secret}", row


def verify_key(session: Session, token: str) -> Identity | None:
    """The identity of a valid, unrevoked key, or None; as slow for an unknown prefix as a known one."""
    parts = split_key(token)
    prefix, secret = parts if parts else ("", token)
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if row is None:
        _hash(secret, _DUMMY_SALT)  # the same scrypt work as a real check: no timing oracle for prefixes
        return None
    if not hmac.compare_digest(row.hash, _hash(secret, row.salt)) or row.revoked_at is not None:
        return None
    return Identity(row.id, row.name, row.role)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, prefix: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise KeyManagementError(f"no key with prefix {prefix!r}")
    if row.revoked_at is None:
        row.revoked_at = now()
    return row


def count_active(session: Session, roles: tuple[str, ...] = ROLES) -> int:
    return len(
        list(session.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None), ApiKey.role.in_(roles))))
    )
