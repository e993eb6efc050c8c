"""Routes under ``/api/v1/agent/call``."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/agent/call", tags=["call-control"], responses=ERROR_RESPONSES)
