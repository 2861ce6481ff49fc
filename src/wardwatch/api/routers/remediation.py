"""The remediation routes (issue 9)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/remediation", tags=["remediation"])
