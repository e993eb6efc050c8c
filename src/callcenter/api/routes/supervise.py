"""Routes under ``/api/v1/supervisor/calls``."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/supervisor/calls", tags=["supervise"], responses=ERROR_RESPONSES)
