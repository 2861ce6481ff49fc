"""Where each feed is downloaded from: data, not code.  ``--mirror URL`` replaces scheme and host, keeping paths.

kev   CISA Known Exploited Vulnerabilities, one JSON file (ETag / Last-Modified).
epss  FIRST EPSS scores of every CVE, one gzipped CSV (ETag / Last-Modified).
nvd   NVD CVE API 2.0: ``lastModStartDate``/``lastModEndDate`` windows of at most 120 days (the API's limit) from
      the last successful sync, paged with ``startIndex``/``resultsPerPage``; the API key (optional) is read from the
      environment variable named here; NVD asks for a pause between requests (5 per 30 s without a key).
csaf  CISA's CSAF trusted provider, directory distribution: ``changes.csv`` (path, last change) under ``directory``;
      each advisory ``<path>`` and, where published, ``<path>.sha512``; only paths matching ``match`` (ICS
      *medical* advisories) are fetched.
"""

from __future__ import annotations

from typing import Any, Final

MiB: Final = 1024 * 1024

SOURCES: Final[dict[str, dict[str, Any]]] = {
    "kev": {
        "type": "file",
        "url": "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        "max_bytes": 64 * MiB,
    },
    "epss": {
        "type": "file",
        "url": "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
        "max_bytes": 128 * MiB,
    },
    "nvd": {
        "type": "nvd",
        "url": "https://services.nvd.nist.gov/rest/json/cves/2.0",
        "api_key_env": "WARDWATCH_NVD_API_KEY",
        "api_key_header": "apiKey",
        "window_days": 120,
        "first_sync_days": 120,
        "results_per_page": 2000,
        "delay_seconds": 6.0,
        "delay_seconds_with_key": 0.6,
        "max_bytes": 256 * MiB,
    },
    "csaf": {
        "type": "csaf",
        "directory": "https://www.cisa.gov/sites/default/files/csaf/",
        "index": "changes.csv",
        "match": r"(^|/)icsma-[^/]*\.json$",
        "max_bytes": 32 * MiB,
    },
}
