"""`run.py audit`: the audit trail on the operator's terminal, one JSON object a line, newest
first, with the filters of `GET /v1/audit`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from gateway.api.audit import AuditQuery, audit_page
from gateway.api.common import validate
from gateway.settings import Settings
from gateway.storage import open_storage
from gateway.web.errors import ApiError

FILTERS = ("client", "key", "action", "from", "to", "limit", "cursor")


def add_parser(sub: Any) -> None:
    audit = sub.add_parser("audit", help="print the audit trail, newest first (JSON lines)")
    audit.add_argument("--client", help="only this client's changes (the name of its keys)")
    audit.add_argument("--key", help="only changes made with this key id")
    audit.add_argument(
        "--action", help="an action (complaints.changed) or an object's (complaints.)"
    )
    audit.add_argument(
        "--from", dest="from_", metavar="FROM", help="ISO 8601 or Jalali (1404/08/30)"
    )
    audit.add_argument("--to", help="before this time; a bare date includes its day")
    audit.add_argument("--limit", default="50", help="at most this many entries (≤ 200)")
    audit.add_argument("--cursor", help="the cursor printed after the previous page")


async def _page(settings: Settings, query: AuditQuery) -> Any:
    storage = await open_storage(settings.resolved_database_url())
    try:
        return await audit_page(storage, query)
    finally:
        await storage.close()


def cmd_audit(args: argparse.Namespace) -> int:
    given = {
        name: getattr(args, "from_" if name == "from" else name)
        for name in FILTERS
        if getattr(args, "from_" if name == "from" else name) is not None
    }
    try:
        query = validate(AuditQuery, given)
    except ApiError as exc:
        print(f"audit: --{exc.extra.get('field', '?')}: {exc.message}", file=sys.stderr)
        return 2
    page = asyncio.run(_page(Settings(), query))
    for item in page.items:
        print(json.dumps(item.model_dump(mode="json"), ensure_ascii=False))
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}", file=sys.stderr)
    return 0
