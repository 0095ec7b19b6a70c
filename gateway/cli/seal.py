"""`run.py seal-key` and `run.py reseal`: the seal key's rotation.

1. `run.py seal-key` prints a new key. 2. Put it first in `GATEWAY_SEAL_KEY` (`new,old`) on every
node and restart them: new secrets are sealed with it, old ones still open. 3. `run.py reseal`
seals every waiting secret again under the new key. 4. Drop the old key from the setting.
"""

from __future__ import annotations

import argparse
import asyncio

from gateway.sealkey import load_sealer
from gateway.settings import Settings
from gateway.storage import open_storage
from sessions.sealing import new_seal_key


def cmd_seal_key(_args: argparse.Namespace) -> int:
    print(new_seal_key(), flush=True)
    return 0


async def _reseal(settings: Settings) -> int:
    sealer = load_sealer(settings)
    storage = await open_storage(settings.resolved_database_url())
    try:
        count = await storage.reseal(sealer.reseal)
        return count + await storage.reseal_signing_secrets(sealer.reseal)
    finally:
        await storage.close()


def cmd_reseal(_args: argparse.Namespace) -> int:
    count = asyncio.run(_reseal(Settings()))
    print(f"{count} sealed value(s) sealed again under the newest key.")
    return 0
