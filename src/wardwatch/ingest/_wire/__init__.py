"""Mirrors of external wire schemas (pydantic models), converted into domain values once by ``wardwatch.ingest``."""
