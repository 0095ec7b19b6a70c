"""`/v1/branch-queues`: the portal keeps each agent bank branch's queue length current (seed
000: applicants pick the branch with the fewest applications waiting); an applicant whose bank
has no credit is sent the three shortest of their city (scope `records`)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.api.common import answer, read_model, read_query
from gateway.api.fields import STRICT, Timestamp, at, english_text, sms_text
from gateway.api.loans import BANK_MAX, BRANCH_MAX, CITY_MAX
from gateway.api.operations import Op
from gateway.appkeys import DEPS, STORAGE
from gateway.web import edge
from gateway.web.auth import require_scope
from gateway.web.errors import ApiError
from sessions.records import BranchQueue, branch_key
from sessions.services import loans

SCOPE = "records"
QUEUE_MAX = 1_000_000
BATCH_MAX = 500


class QueueIn(BaseModel):
    model_config = STRICT

    bank: Annotated[str, AfterValidator(sms_text(BANK_MAX))] = Field(
        min_length=1, examples=["بانک ملت"], json_schema_extra={"maxLength": BANK_MAX}
    )
    branch: Annotated[str, AfterValidator(sms_text(BRANCH_MAX))] = Field(
        min_length=1, examples=["ونک"], json_schema_extra={"maxLength": BRANCH_MAX}
    )
    city: Annotated[str, AfterValidator(sms_text(CITY_MAX))] = Field(
        min_length=1, examples=["تهران"], json_schema_extra={"maxLength": CITY_MAX}
    )
    queue: int = Field(
        ge=0, le=QUEUE_MAX, description="Applications waiting at the branch.", examples=[12]
    )
    bank_en: Annotated[str, AfterValidator(english_text(BANK_MAX))] = Field(
        "", examples=["Bank Mellat"], json_schema_extra={"maxLength": BANK_MAX}
    )
    branch_en: Annotated[str, AfterValidator(english_text(BRANCH_MAX))] = Field(
        "", examples=["Vanak branch"], json_schema_extra={"maxLength": BRANCH_MAX}
    )


class QueuesIn(BaseModel):
    """The body of `PUT /v1/branch-queues`: branches as they are now, by bank and branch name;
    all are stored or none."""

    model_config = STRICT

    queues: list[QueueIn] = Field(min_length=1, max_length=BATCH_MAX)


class QueueOut(BaseModel):
    bank: str
    branch: str
    city: str
    queue: int
    bank_en: str
    branch_en: str
    updated_at: Timestamp

    @classmethod
    def of(cls, record: BranchQueue) -> QueueOut:
        return cls.model_validate(
            {
                "bank": record.bank,
                "branch": record.branch,
                "city": record.city,
                "queue": record.queue,
                "bank_en": record.bank_en,
                "branch_en": record.branch_en,
                "updated_at": at(record.updated_at),
            }
        )


class QueuesOut(BaseModel):
    queues: list[QueueOut]


class QueueQuery(BaseModel):
    """The query of `GET /v1/branch-queues`: a city's branches, shortest queue first."""

    model_config = ConfigDict(extra="forbid")

    city: Annotated[str, AfterValidator(sms_text(CITY_MAX))] = Field(min_length=1)
    limit: int = Field(50, ge=1, le=200)


@require_scope(SCOPE)
async def put_queues(request: web.Request) -> web.StreamResponse:
    body = await read_model(request, QueuesIn)
    keys = [branch_key(q.bank, q.branch) for q in body.queues]
    if len(set(keys)) != len(keys):
        raise ApiError(400, "invalid_field", "each bank and branch at most once", field="queues")
    records = [
        BranchQueue(key, q.bank, q.branch, q.city, q.queue, q.bank_en, q.branch_en)
        for key, q in zip(keys, body.queues, strict=True)
    ]
    stored = await loans.put_queues(request.app[DEPS], records)
    return answer(QueuesOut(queues=[QueueOut.of(q) for q in stored]))


@require_scope(SCOPE)
async def list_queues(request: web.Request) -> web.StreamResponse:
    query = read_query(request, QueueQuery)
    rows = await request.app[STORAGE].find_records(
        BranchQueue, {"city": query.city}, order="queue", limit=query.limit
    )
    return answer(QueuesOut(queues=[QueueOut.of(q) for q in rows]))


OPERATIONS = (
    Op("put", "/v1/branch-queues", "Keep branch queue lengths current", "records",
       response=QueuesOut, body=QueuesIn, scope=SCOPE,
       description="All or none. With no credit at the agent bank, an applicant is sent the "
       "three branches of their city with the shortest queues."),
    Op("get", "/v1/branch-queues", "A city's branches, shortest queue first", "records",
       response=QueuesOut, query=QueueQuery, scope=SCOPE,
       errors={400: ("invalid_field", "missing_field")}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "PUT", "/v1/branch-queues", put_queues)
    edge.add(app, "GET", "/v1/branch-queues", list_queues)
