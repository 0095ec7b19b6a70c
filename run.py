"""The command line: serve (the default), dial, check, create-api-key, revoke-api-key, audit."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import gc
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web
from pydantic import ValidationError

from gateway.api.registry import KEY_SCOPES
from gateway.app import create_app
from gateway.cli.audit import add_parser as add_audit_parser
from gateway.cli.audit import cmd_audit
from gateway.cli.seal import cmd_reseal, cmd_seal_key
from gateway.sealkey import load_sealer
from gateway.settings import Settings
from gateway.storage import open_storage
from gateway.storage.audit import OPERATOR, Actor, acting_as
from gateway.version import VERSION
from gateway.web import logs, signing
from gateway.web.access import callback_secret, exposure_problem
from gateway.web.auth import new_api_key
from gateway.web.counters_share import DIR_ENV, share_counters
from gateway.workers import exit_with_supervisor, port_problem, supervise
from providers.registry import build_provider
from sessions.ports import Storage
from sessions.records import ApiKey
from sessions.sealing import Sealer


def _refuse(problem: str) -> int:
    """One clear line on stderr and exit code 2: a configuration error, not a crash."""
    print(f"dargah: {problem}", file=sys.stderr)
    return 2


def settings_problem(exc: ValidationError) -> str:
    """The settings' errors by variable name, never quoting a value (it may be a secret)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        name = "GATEWAY_" + "_".join(str(part) for part in error["loc"][:1]).upper()
        parts.append(f"{name}: {error['msg']}")
    return "invalid settings: " + "; ".join(parts)


async def _provider_problem(settings: Settings) -> str | None:
    """Builds each configured provider once (no request is sent), as start-up would."""
    async with ClientSession() as session:
        for name in dict.fromkeys(filter(None, (settings.sms_provider, settings.sms_fallback))):
            try:
                provider = build_provider(name, settings.provider_config(), session)
            except ValueError as exc:
                return f"SMS provider {name!r} is misconfigured: {exc}"
            await provider.close()
    return None


def serve_problem(settings: Settings) -> str | None:
    """Why `serve` must not start with these settings; checked before anything listens."""
    if settings.workers > 1 and settings.resolved_database_url().endswith(":memory:"):
        return "GATEWAY_WORKERS > 1 needs a database file or PostgreSQL, not :memory:"
    return (
        exposure_problem(settings)
        or port_problem(settings.host, settings.port)
        or asyncio.run(_provider_problem(settings))
    )


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        try:
            import uvloop  # not on every platform (Windows): asyncio's own loop serves there
        except ImportError:
            print("dargah: uvloop is not installed; serving on asyncio's loop", file=sys.stderr)
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def _settle_heap(app: web.Application) -> None:
    """What start-up built lives as long as the process: frozen out of the collector's sight, it
    is no longer walked by every full collection, which stalled the loop mid-hop."""
    gc.collect()
    gc.freeze()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    worker = args.worker
    if worker is None:  # a worker's settings were checked by its supervisor
        problem = serve_problem(settings)
        if problem is not None:
            return _refuse(problem)
    logs.configure(settings.log_level, settings.log_json)
    if worker is None and settings.workers > 1:
        return supervise(settings, demo=args.demo)
    app = create_app(settings, demo=args.demo, background=not worker)
    if worker is not None:
        app.cleanup_ctx.append(exit_with_supervisor)
        if os.environ.get(DIR_ENV):
            app.cleanup_ctx.append(share_counters(worker, Path(os.environ[DIR_ENV])))
    app.on_startup.append(_settle_heap)
    try:
        _run(app, settings, worker)
    except OSError as exc:  # taken between the probe and the bind, or refused to this user
        return _refuse(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}")
    return 0


def _run(app: web.Application, settings: Settings, worker: int | None) -> None:
    web.run_app(
        app,
        loop=new_event_loop(settings.event_loop),
        host=settings.host,
        port=settings.port,
        reuse_port=worker is not None,
        access_log_class=logs.AccessLogger,
        print=lambda line: print(
            line if worker is None else f"dargah: worker {worker} ready (pid {os.getpid()})",
            flush=True,
        ),
    )


def refusal(status: int, body: str) -> str:
    """A refused hop as a sentence: the gateway's JSON error read, not printed raw."""
    try:
        error = json.loads(body)
        message = str(error["message"])
        fields = [str(f) for f in error.get("fields") or []]
    except (ValueError, TypeError, KeyError):
        return f"the gateway refused the call (HTTP {status})."
    hint = ""
    if "phoneNumber" in fields:
        hint = " Check --msisdn: an Iranian mobile such as 09121234567."
    return f"the gateway refused the call: {message}.{hint}"


async def _hop(
    http: ClientSession, url: str, form: dict[str, str], headers: dict[str, str] | None
) -> tuple[int, str]:
    async with http.post(f"{url.rstrip('/')}/ussd/africastalking", data=form, headers=headers) as r:
        return r.status, await r.text()


def _dial(
    url: str,
    msisdn: str,
    code: str,
    inputs: Sequence[str] | None,
    headers: dict[str, str] | None = None,
) -> int:
    """A phone in the terminal: Africa's Talking hops, keeping the `*`-joined history. The
    prompt is read outside the event loop, so Ctrl-C at it ends the call at once."""
    session_id = f"dial-{uuid.uuid4().hex[:12]}"
    history: list[str] = []
    scripted = list(inputs) if inputs is not None else None
    with asyncio.Runner() as runner:
        http = runner.run(_client())
        try:
            while True:
                form = {
                    "sessionId": session_id,
                    "serviceCode": code,
                    "phoneNumber": msisdn,
                    "networkCode": "43211",
                    "text": "*".join(history),
                }
                status, body = runner.run(_hop(http, url, form, headers))
                if status != 200:
                    print(refusal(status, body), file=sys.stderr)
                    return 1
                kind, _, screen = body.partition(" ")
                print("┌" + "─" * 30)
                for line in screen.splitlines():
                    print("│ " + line)
                print("└" + "─" * 30)
                if kind == "END":
                    return 0
                if scripted is not None:
                    if not scripted:
                        return 0
                    answer = scripted.pop(0)
                    print(f"> {answer}")
                else:
                    try:
                        answer = input("> ")
                    except EOFError:
                        return 0
                history.append(answer)
        finally:
            runner.run(http.close())


async def _client() -> ClientSession:
    return ClientSession(timeout=ClientTimeout(total=10))


def _line_editing() -> None:
    """Arrow keys and history at the prompt, where the platform has readline."""
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (importing it is what turns line editing on)


def cmd_dial(args: argparse.Namespace) -> int:
    settings = Settings()
    url = args.url or f"http://{settings.host}:{settings.port}"
    # A gateway with a USSD secret wants it from this phone too, as an operator would send it.
    secret = callback_secret(settings, "ussd", "africastalking")
    headers = {settings.callback_token_header: secret.get_secret_value()} if secret else None
    _line_editing()
    try:
        return _dial(url, args.msisdn, args.code, args.input, headers)
    except OSError as exc:
        print(
            f"cannot reach the gateway at {url}: {exc}. Start it with `make run`.", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


async def _store_key(settings: Settings, sealer: Sealer, key: ApiKey) -> str | None:
    """Stores the key; the client's new callback signing secret when it had none yet."""
    storage = await open_storage(settings.resolved_database_url())
    try:
        with acting_as(Actor("", OPERATOR)):  # in the audit trail as the operator's
            await storage.add_api_key(key)
            return await _new_signing_secret(storage, sealer, key.name, replace=False)
    finally:
        await storage.close()


async def _new_signing_secret(
    storage: Storage, sealer: Sealer, client: str, *, replace: bool
) -> str | None:
    secret = signing.new_secret()
    sealed = sealer.seal(secret)
    stored = await storage.set_signing_secret(client, sealed, time.time(), replace=replace)
    return secret if stored else None


async def _rotate_secret(settings: Settings, sealer: Sealer, client: str) -> str | None:
    storage = await open_storage(settings.resolved_database_url())
    try:
        if not await storage.has_api_key_named(client):
            return None
        with acting_as(Actor("", OPERATOR)):
            return await _new_signing_secret(storage, sealer, client, replace=True)
    finally:
        await storage.close()


def _sealer_or_none(settings: Settings, command: str) -> Sealer | None:
    try:
        return load_sealer(settings)
    except ValueError as exc:  # PostgreSQL without GATEWAY_SEAL_KEY
        print(f"{command}: {exc}", file=sys.stderr)
        return None


def cmd_rotate_signing_secret(args: argparse.Namespace) -> int:
    """Prints the client's new callback signing secret once; the old one stops at once."""
    client = args.name.strip()
    settings = Settings()
    sealer = _sealer_or_none(settings, "rotate-signing-secret")
    if sealer is None:
        return 2
    secret = asyncio.run(_rotate_secret(settings, sealer, client))
    if secret is None:
        print(f"rotate-signing-secret: no API key was created for {client!r}", file=sys.stderr)
        return 1
    print(secret, flush=True)
    print(
        f"the callback signing secret of {client!r}: shown once; callbacks are signed with it "
        "from now on",
        file=sys.stderr,
    )
    return 0


def cmd_create_api_key(args: argparse.Namespace) -> int:
    """Prints the key alone on stdout (so scripts can capture it); only its hash is stored."""
    name = args.name.strip()
    scopes = frozenset(s.strip() for s in args.scopes.split(",") if s.strip())
    unknown = sorted(scopes - KEY_SCOPES)
    if not name:
        print("create-api-key: the key needs a name", file=sys.stderr)
        return 2
    if unknown or not scopes:
        what = f"unknown scope(s): {', '.join(unknown)}" if unknown else "no scope given"
        known = ", ".join(sorted(KEY_SCOPES))
        print(f"create-api-key: {what}; choose from: {known}", file=sys.stderr)
        return 2
    settings = Settings()
    # The signing secret is sealed: without a seal key nothing is stored, not even the key.
    sealer = _sealer_or_none(settings, "create-api-key")
    if sealer is None:
        return 2
    key, record = new_api_key(name, scopes, time.time())
    secret = asyncio.run(_store_key(settings, sealer, record))
    print(key, flush=True)
    print(
        f"API key {name!r} with scopes {', '.join(sorted(scopes))}: shown once, store it now.",
        file=sys.stderr,
    )
    if secret is not None:
        print(
            f"callback signing secret of {name!r} (X-Dargah-Signature), shown once: {secret}",
            file=sys.stderr,
        )
    else:
        print(
            f"{name!r} keeps its callback signing secret (rotate-signing-secret makes a new one)",
            file=sys.stderr,
        )
    return 0


async def _revoke_key(settings: Settings, key_id: str) -> bool:
    storage = await open_storage(settings.resolved_database_url())
    try:
        with acting_as(Actor("", OPERATOR)):
            return await storage.revoke_api_key(key_id)
    finally:
        await storage.close()


def cmd_revoke_api_key(args: argparse.Namespace) -> int:
    """Takes a whole key or its id (`dgk_<id>_…`): the id is all a log or a colleague shows."""
    raw = args.key.strip()
    key_id = raw.split("_")[1] if raw.startswith("dgk_") and raw.count("_") >= 2 else raw
    if not asyncio.run(_revoke_key(Settings(), key_id)):
        print(f"revoke-api-key: no API key with id {key_id!r}", file=sys.stderr)
        return 1
    print(f"API key {key_id} is revoked: every request with it is refused from now on.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gateway.cli.check import run_check

    return run_check(verbose=args.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except ValidationError as exc:
        return _refuse(settings_problem(exc))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dargah", description="the SMS/USSD gateway; with no command, `serve`"
    )
    parser.add_argument("--version", action="version", version=f"dargah {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the gateway (default)")
    serve.add_argument(
        "--demo", action="store_true", help="load sample records and print how to try them"
    )
    serve.add_argument("--host", help="the address to listen on (default: GATEWAY_HOST)")
    serve.add_argument("--port", type=int, help="the port to listen on (default: GATEWAY_PORT)")
    serve.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # set by the supervisor
    dial = sub.add_parser("dial", help="a phone in the terminal, talking to a running gateway")
    dial.add_argument(
        "--msisdn", default="09121234567", help="the caller's number (default: %(default)s)"
    )
    dial.add_argument(
        "--code", default=Settings().ussd_code, help="the USSD code dialled (default: %(default)s)"
    )
    dial.add_argument("--url", help="the gateway's address (default: GATEWAY_HOST:GATEWAY_PORT)")
    dial.add_argument("--input", action="append", help="a scripted answer (repeatable)")
    check = sub.add_parser("check", help="prove every screen and SMS template fits its budget")
    check.add_argument("-v", "--verbose", action="store_true", help="list every screen checked")
    keys = sub.add_parser("create-api-key", help="make an API key; prints it once")
    keys.add_argument("name", help="who uses the key, e.g. the portal's name")
    keys.add_argument(
        "--scopes", required=True, help=f"comma-separated, of: {', '.join(sorted(KEY_SCOPES))}"
    )
    revoke = sub.add_parser("revoke-api-key", help="refuse an API key from now on")
    revoke.add_argument("key", help="the key, or its id (the 12 characters after dgk_)")
    rotate = sub.add_parser(
        "rotate-signing-secret", help="a client's new callback signing secret, printed once"
    )
    rotate.add_argument("name", help="the client: the name its API keys were created under")
    add_audit_parser(sub)
    sub.add_parser("seal-key", help="print a new key for GATEWAY_SEAL_KEY")
    sub.add_parser("reseal", help="seal every waiting secret again under the newest seal key")
    return parser


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    handlers = {
        "serve": cmd_serve,
        "dial": cmd_dial,
        "check": cmd_check,
        "create-api-key": cmd_create_api_key,
        "revoke-api-key": cmd_revoke_api_key,
        "rotate-signing-secret": cmd_rotate_signing_secret,
        "audit": cmd_audit,
        "seal-key": cmd_seal_key,
        "reseal": cmd_reseal,
    }
    words = list(sys.argv[1:] if argv is None else argv)
    if words and not words[0].startswith("-") and words[0] not in handlers:
        close = difflib.get_close_matches(words[0], handlers, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parser.error(f"unknown command {words[0]!r}{hint}; commands: {', '.join(handlers)}")
    if not words or words[0] not in (*handlers, "-h", "--help", "--version"):
        words = ["serve", *words]  # serve is the default: `run.py --demo` means `serve --demo`
    args = parser.parse_args(words)
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
