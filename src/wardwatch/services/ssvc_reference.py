"""The official SSVC tables packaged in ``wardwatch/data/ssvc``, loaded once per process.

Origin and licence of the files: ``wardwatch/data/ssvc/NOTICE.md``.  The domain objects built here are pure
(:mod:`wardwatch.domain.ssvc`); this module is the only one that reads the files.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

from wardwatch.domain.ssvc import DeployerTable, HumanImpactMapping, human_impact_table_from_rows

__all__ = ["DEPLOYER_CSV", "HUMAN_IMPACT_CSV", "deployer_rows", "deployer_table", "published_human_impact"]

_PACKAGE = "wardwatch.data"
DEPLOYER_CSV = "deployer_patch_application_priority_1_0_0.csv"
HUMAN_IMPACT_CSV = "human_impact_1_0_0.csv"


def _csv_rows(name: str) -> tuple[dict[str, str], ...]:
    text = resources.files(_PACKAGE).joinpath("ssvc").joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(io.StringIO(text)))


@cache
def deployer_rows() -> tuple[dict[str, str], ...]:
    """The raw rows of the official deployer CSV (column name → value name)."""
    return _csv_rows(DEPLOYER_CSV)


@cache
def deployer_table() -> DeployerTable:
    """The official deployer patch-application tree (72 rows)."""
    return DeployerTable.from_rows(deployer_rows(), name="SSVC deployer patch application priority 1.0.0")


@cache
def published_human_impact() -> HumanImpactMapping:
    """The official, published ``human_impact_1_0_0`` table (see METHODS.md 2.4 for its discrepancy)."""
    return human_impact_table_from_rows(_csv_rows(HUMAN_IMPACT_CSV))
