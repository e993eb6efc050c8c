"""Routes under ``/api/v1/tickets``."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERROR_RESPONSES)
