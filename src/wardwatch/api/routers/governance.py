"""The governance routes (issue 9)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/governance", tags=["governance"])
