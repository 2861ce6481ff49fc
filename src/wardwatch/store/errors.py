"""Storage errors.

StoreError
├── DatabaseUnavailable   the server cannot be reached or the file cannot be opened
└── NotInitialised        no Wardwatch schema yet, or an older one: run ``wardwatch init``
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of storage errors; the message is one line a user can act on."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached or opened."""


class NotInitialised(StoreError):
    """The database has no Wardwatch schema, or an older revision of it."""
