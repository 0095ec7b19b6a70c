"""Pydantic descriptions of the dialects' wire formats, for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AfricasTalkingForm(BaseModel):
    """Africa's Talking USSD callback (application/x-www-form-urlencoded)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sessionId": "ATUid_1",
                    "serviceCode": "*4455#",
                    "phoneNumber": "+989121234567",
                    "text": "3*1",
                }
            ]
        }
    )

    sessionId: str = Field(min_length=1, max_length=512)
    serviceCode: str = Field(min_length=1, max_length=512)
    phoneNumber: str = Field(min_length=1, max_length=512, description="the caller's MSISDN")
    networkCode: str | None = Field(default=None, max_length=512)
    text: str = Field(
        max_length=8192, description="every answer of the session so far, joined by `*`"
    )
