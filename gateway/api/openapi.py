"""The OpenAPI 3.1 document, generated from the pydantic models of every route. The operator and
provider routes are described in the table below, each `/v1` resource in its own module
(`OPERATIONS`); a test proves the whole matches the routes the app really serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from channels.docs import AfricasTalkingForm
from channels.hubtel import HubtelRequest, HubtelResponse
from channels.json_dialect import JsonUssdRequest, JsonUssdResponse
from channels.nalo import NaloRequest, NaloResponse
from gateway.api import registry
from gateway.api.examples import example, example_for_pattern
from gateway.api.fields import CallbackErrorOut, ErrorOut
from gateway.api.operations import FORM, JSON, TEXT, Op
from gateway.version import VERSION

PROVIDER = {"provider": ("a configured provider: kavenegar, smsir or console", r"^[a-z]+$")}
CALLBACK = "Form fields or a query string, as the provider sends them."
TOKEN = {"token": ("the callback secret of this dialect or provider", r"^[A-Za-z0-9_\-.~]+$")}
IN_PATH_NOTE = (
    "The same callback, for operators and providers that cannot send the `X-Gateway-Token` "
    "header: the shared secret is the last path segment. 401 `unauthorized` on a wrong secret."
)

OPERATIONS: tuple[Op, ...] = (
    Op("post", "/ussd/africastalking", "USSD hop, Africa's Talking dialect", "ussd",
       response="`CON <screen>` to continue or `END <screen>` to close",
       body=AfricasTalkingForm, body_type=FORM),
    Op("post", "/ussd/json", "USSD hop, the gateway's JSON dialect", "ussd",
       response=JsonUssdResponse, body=JsonUssdRequest),
    Op("post", "/ussd/hubtel", "USSD hop, Hubtel dialect", "ussd",
       response=HubtelResponse, body=HubtelRequest),
    Op("post", "/ussd/nalo", "USSD hop, Nalo dialect", "ussd",
       response=NaloResponse, body=NaloRequest,
       description="Nalo sends no hop counter: a retried hop counts as a new answer."),
    Op("get", "/sms/{provider}/status", "Delivery report callback", "providers",
       path_params=PROVIDER, description=CALLBACK),
    Op("post", "/sms/{provider}/status", "Delivery report callback", "providers",
       path_params=PROVIDER, description=CALLBACK),
    Op("get", "/sms/{provider}/inbound", "Inbound SMS callback", "providers",
       path_params=PROVIDER, description=CALLBACK),
    Op("post", "/sms/{provider}/inbound", "Inbound SMS callback", "providers",
       path_params=PROVIDER, description=CALLBACK),
    Op("get", "/healthz", "Liveness", "health"),
    Op("get", "/readyz", "Readiness: this node can answer hops and API calls", "health",
       description="503 only when the database does not answer. The body also reports the SMS "
       "side (the dispatcher: running, idle or stuck; each provider: active, failing or "
       "paused), which never fails readiness."),
    Op("get", "/metrics", "Prometheus metrics", "health",
       response="the Prometheus text format 0.0.4: requests, hop, API and provider-send "
       "histograms, SMS and provider counters, outbox, sessions, build and process"),
    *registry.OPERATIONS,
)  # fmt: skip
# What a `/v1` body can be refused for before any handler looks at it (gateway/api/common.py).
API_BODY_ERRORS = ("invalid_body", "missing_field", "unknown_field", "invalid_field")
ERROR_MESSAGES = {
    "unauthorized": "a valid API key is required: Authorization: Bearer <key>",
    "forbidden": "this API key lacks the scope of this route",
    "invalid_body": "the body must be a JSON object, encoded in UTF-8",
    "missing_field": "this field is required",
    "unknown_field": "this field is not part of the request",
    "invalid_field": "at most 40 characters (52 given)",
    "body_too_large": "the body is larger than this route accepts",
    "not_found": "no record with this key",
    "already_handed": "the message is sent: it has been handed to a provider and cannot be "
    "cancelled",
    "invalid_national_id": "national ID must be 10 digits with a valid check",
    "invalid_mobile": "mobile must be 11 digits starting with 09",
    "invalid_tracking_code": "tracking code must be 8 digits",
    "unallocated_mobile": "0981 is not an allocated Iranian mobile prefix",
    "rate_limited": "too many verifications; try again later",
    "channel_unavailable": "the configured SMS provider has no voice route for this purpose",
    "resend_too_soon": "sent to this number recently; try again in 60 s",
    "idempotency_key_reused": "this Idempotency-Key was used with a different request",
    "invalid_header": "Idempotency-Key must have 1 to 128 characters",
    "unknown_template": "no template named 'welcome'",
    "missing_parameter": "this template needs it",
    "unknown_parameter": "this template has no such placeholder",
    "invalid_parameter": "expected 4 to 8 digits",
    "missing_fields": "missing fields: phoneNumber",
    "invalid_fields": "phoneNumber is not an Iranian mobile number",
    "malformed_body": "the body could not be read",
    "malformed_json": "the body is not valid JSON",
    "unknown_provider": "no SMS provider named 'nokia' here",
    "unknown_dialect": "no USSD dialect named 'nokia'",
}
ERROR_FIELDS = {
    "missing_field": "mobile",
    "unknown_field": "colour",
    "invalid_field": "first_name",
    "invalid_national_id": "national_id",
    "invalid_mobile": "mobile",
    "invalid_tracking_code": "tracking_code",
    "channel_unavailable": "channel",
    "unallocated_mobile": "recipient",
    "unknown_template": "template",
    "missing_parameter": "params.code",
    "unknown_parameter": "params.colour",
    "invalid_parameter": "params.code",
}
OK_EXAMPLES: dict[str, Any] = {
    "providers": {"updated": 1},
    "health": {"status": "ok"},
}
READY_EXAMPLE = {
    "status": "ready",
    "database": True,
    "sms": {
        "dispatcher": {
            "state": "running",
            "running_here": True,
            "last_pass_age_s": 0.2,
            "oldest_due_age_s": 0.0,
        },
        "providers": {"kavenegar": {"state": "active", "reason": None, "manual": False}},
    },
}
# Every operator and provider callback again, with its shared secret as the last path segment.
OPERATIONS += tuple(
    Op(op.method, f"{op.path}/{{token}}", f"{op.summary}, secret in the path", op.tag,
       ok=op.ok, response=op.response, body=op.body, body_type=op.body_type,
       path_params={**op.path_params, **TOKEN}, description=IN_PATH_NOTE, errors=op.errors)
    for op in OPERATIONS
    if op.tag in ("ussd", "providers")
)  # fmt: skip


def _models() -> list[type[BaseModel]]:
    # A query's model is described by its parameters, not as a component.
    found: list[type[BaseModel]] = [ErrorOut, CallbackErrorOut]
    for op in OPERATIONS:
        for model in (op.body, op.response):
            if isinstance(model, type) and model not in found:
                found.append(model)
    return found


def _query_schema(model: type[BaseModel]) -> dict[str, Any]:
    _, defs = models_json_schema(
        [(model, "validation")], ref_template="#/components/schemas/{model}"
    )
    return dict(defs["$defs"][model.__name__])


def _parameters(op: Op) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "description": text,
         "schema": {"type": "string", "pattern": pattern}, "example": example_for_pattern(pattern)}
        for name, (text, pattern) in op.path_params.items()
    ]  # fmt: skip
    if op.query is not None:
        for name, prop in _query_schema(op.query).get("properties", {}).items():
            # An absent query parameter has no value at all, so `null` is no default of it.
            schema = {k: v for k, v in prop.items() if not (k == "default" and v is None)}
            params.append({"name": name, "in": "query", "required": False, "schema": schema})
    return params


def errors_of(op: Op) -> dict[int, tuple[str, ...]]:
    """Every error code the operation answers, by status: those of its kind, then its own."""
    found: dict[int, list[str]] = {}

    def add(status: int, *codes: str) -> None:
        found.setdefault(status, [])
        found[status] += [c for c in codes if c not in found[status]]

    if op.scope is not None:
        add(401, "unauthorized")
        add(403, "forbidden")
    if op.scope is not None and op.body is not None:
        add(400, *API_BODY_ERRORS)
        add(413, "body_too_large")
    if op.tag in ("ussd", "providers"):
        add(400, "missing_fields", "invalid_fields", "malformed_body")
        if op.body_type == JSON and op.body is not None:
            add(400, "malformed_json")
        add(401, "unauthorized")
        add(403, "forbidden")
        add(404, "unknown_provider" if op.tag == "providers" else "unknown_dialect")
        if op.method == "post":
            add(413, "body_too_large")
    for status, codes in op.errors.items():
        add(status, *codes)
    return {status: tuple(codes) for status, codes in sorted(found.items())}


def _error_example(op: Op, code: str) -> dict[str, Any]:
    message = ERROR_MESSAGES.get(code, code.replace("_", " "))
    if op.tag in ("ussd", "providers"):
        fields = ["phoneNumber"] if op.tag == "ussd" else ["messageid"]
        return {"code": code, "message": message, "fields": fields if "fields" in code else []}
    return {"code": code, "message": message, "field": ERROR_FIELDS.get(code)}


def _responses(op: Op, schemas: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(op.response, type):
        name = op.response.__name__
        ok: dict[str, Any] = {
            "description": op.summary,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"},
                               "example": example(schemas[name], schemas)}},
        }  # fmt: skip
    elif isinstance(op.response, str):
        text = "CON ۱. پیگیری ثبت‌نام" if op.tag == "ussd" else "# HELP …"
        ok = {
            "description": op.response,
            "content": {TEXT: {"schema": {"type": "string"}, "example": text}},
        }
    else:
        ok = {
            "description": op.summary,
            "content": {
                JSON: {
                    "schema": {"type": "object"},
                    "example": READY_EXAMPLE if op.path == "/readyz" else OK_EXAMPLES.get(op.tag),
                }
            },
        }
    responses: dict[str, Any] = {str(op.ok): ok}
    if op.ok == 200 and op.method == "put":
        responses["201"] = {**ok, "description": "created"}
    error = "CallbackErrorOut" if op.tag in ("ussd", "providers") else "ErrorOut"
    for status, codes in errors_of(op).items():
        responses[str(status)] = {
            "description": ", ".join(f"`{c}`" for c in codes),
            "content": {JSON: {
                "schema": {"$ref": f"#/components/schemas/{error}"},
                "examples": {c: {"value": _error_example(op, c)} for c in codes},
            }},
        }  # fmt: skip
    responses["default"] = {
        "description": "any other error (503 `busy`, 500 `internal_error`)",
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    return responses


def build_document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(model, "validation") for model in _models()],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_')}".replace("{", "")
            .replace("}", "")
            .replace("-", "_"),
            "responses": _responses(op, schemas),
        }
        if op.description:
            operation["description"] = op.description
        params = _parameters(op)
        if params:
            operation["parameters"] = params
        if op.body is not None:
            name = op.body.__name__
            operation["requestBody"] = {
                "required": True,
                "content": {
                    op.body_type: {
                        "schema": {"$ref": f"#/components/schemas/{name}"},
                        "example": example(schemas[name], schemas),
                    }
                },
            }
        if op.scope is not None:
            operation["security"] = [{"apiKey": [op.scope]}]
            operation["description"] = f"Scope `{op.scope}`. {op.description}".strip()
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dargah (درگاه)",
            "version": VERSION,
            "description": "The SMS/USSD gateway of the social-security e-services.",
        },
        # Relative: the document is served by the gateway it describes, behind whatever name.
        "servers": [{"url": "/", "description": "this gateway"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer dgk_…`; create one with "
                    "`python run.py create-api-key NAME --scopes …`",
                }
            },
        },
    }
