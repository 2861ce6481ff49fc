"""The only code that talks to the internet: download, verify, cache -> files for ``ingest/`` (via ``import_intel``)."""

from wardwatch.feeds.http import FeedError
from wardwatch.feeds.sources import SOURCES
from wardwatch.feeds.sync import SourceReport, SyncReport, sync

__all__ = ["SOURCES", "FeedError", "SourceReport", "SyncReport", "sync"]
