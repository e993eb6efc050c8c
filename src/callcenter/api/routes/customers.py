"""Routes under ``/api/v1/customers``."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)
