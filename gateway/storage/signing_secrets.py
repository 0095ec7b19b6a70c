"""Each client's callback signing secret (gateway/web/signing.py), sealed at rest."""

from __future__ import annotations

from collections.abc import Callable

from gateway.storage.audit import append_audit
from gateway.storage.database import Database


class SigningSecrets:
    db: Database

    async def set_signing_secret(
        self, client: str, sealed: bytes, now: float, *, replace: bool
    ) -> bool:
        """Stores `client`'s sealed secret; an existing one is kept unless `replace`. True when
        this one was stored."""
        conflict = (
            "DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at"
            if replace
            else "DO NOTHING"
        )
        async with self.db.transaction() as tx:
            stored = await tx.execute(
                "INSERT INTO signing_secrets (client, sealed, created_at) VALUES (?, ?, ?) "
                f"ON CONFLICT (client) {conflict}",
                client,
                sealed,
                now,
            )
            if stored == 1:
                verb = "rotated" if replace else "created"
                await append_audit(
                    tx, f"signing_secrets.{verb}", client, after={"client": client},
                    personal_target=False,
                )  # fmt: skip
        return stored == 1

    async def signing_secret(self, client: str) -> bytes | None:
        async with self.db.reading() as tx:
            found = await tx.fetchval("SELECT sealed FROM signing_secrets WHERE client = ?", client)
        return bytes(found) if found is not None else None

    async def reseal_signing_secrets(self, reseal: Callable[[bytes], bytes]) -> int:
        async with self.db.transaction() as tx:
            rows = await tx.fetch("SELECT client, sealed FROM signing_secrets")
            for client, sealed in rows:
                await tx.execute(
                    "UPDATE signing_secrets SET sealed = ? WHERE client = ?",
                    reseal(bytes(sealed)),
                    client,
                )
        return len(rows)
