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
from gateway.api.fields import ErrorOut
from gateway.api.operations import FORM, JSON, TEXT, Op

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
    Op("get", "/readyz", "Readiness: the database answers", "health"),
    Op("get", "/metrics", "Prometheus metrics", "health",
       response="the Prometheus text format: requests, USSD hops, outbox, sessions"),
    *registry.OPERATIONS,
)  # fmt: skip
# Every operator and provider callback again, with its shared secret as the last path segment.
OPERATIONS += tuple(
    Op(op.method, f"{op.path}/{{token}}", f"{op.summary}, secret in the path", op.tag,
       ok=op.ok, response=op.response, body=op.body, body_type=op.body_type,
       path_params={**op.path_params, **TOKEN}, description=IN_PATH_NOTE)
    for op in OPERATIONS
    if op.tag in ("ussd", "providers")
)  # fmt: skip


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorOut]
    for op in OPERATIONS:
        for model in (op.body, op.response, op.query):
            if isinstance(model, type) and model not in found:
                found.append(model)
    return found


def _parameters(op: Op, schemas: Mapping[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "description": text,
         "schema": {"type": "string", "pattern": pattern}}
        for name, (text, pattern) in op.path_params.items()
    ]  # fmt: skip
    if op.query is not None:
        schema = schemas[op.query.__name__]
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": False, "schema": prop})
    return params


def _responses(op: Op) -> dict[str, Any]:
    error = {"content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    if isinstance(op.response, type):
        ok: dict[str, Any] = {
            "description": op.summary,
            "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{op.response.__name__}"}}},
        }
    elif isinstance(op.response, str):
        ok = {"description": op.response, "content": {TEXT: {"schema": {"type": "string"}}}}
    else:
        ok = {"description": op.summary, "content": {JSON: {"schema": {"type": "object"}}}}
    responses = {str(op.ok): ok, "default": {"description": "an error", **error}}
    if op.ok == 200 and op.method == "put":
        responses["201"] = {**ok, "description": "created"}
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
            "responses": _responses(op),
        }
        if op.description:
            operation["description"] = op.description
        params = _parameters(op, schemas)
        if params:
            operation["parameters"] = params
        if op.body is not None:
            ref = {"$ref": f"#/components/schemas/{op.body.__name__}"}
            operation["requestBody"] = {
                "required": True,
                "content": {op.body_type: {"schema": ref}},
            }
        if op.scope is not None:
            operation["security"] = [{"apiKey": [op.scope]}]
            operation["description"] = f"Scope `{op.scope}`. {op.description}".strip()
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dargah (درگاه)",
            "version": "0.1.0",
            "description": "The SMS/USSD gateway of the social-security e-services.",
        },
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
