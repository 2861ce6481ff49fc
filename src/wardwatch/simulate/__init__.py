"""A deterministic sample hospital: sites, units, devices and the messy CMMS export that describes them.

``generate(size, seed)`` plans the hospital (pure: no I/O, no clock, no global random state);
``iter_devices`` draws its devices lazily; ``write`` streams the CMMS export (CSV, and XLSX for small and
medium), the hospital's network traffic as ``traffic.pcap`` and Zeek logs (small and medium, or when asked
with ``traffic=True``) and a ``truth.json`` that tests use to check an importer and discovery. The same size
and seed always give byte-identical files.
"""

from __future__ import annotations

from wardwatch.simulate._catalog import CatalogModel, load_catalog
from wardwatch.simulate._cmms import CMMS_HEADERS, PLACEHOLDERS, VENDOR_SPELLINGS, CmmsRow, iter_rows
from wardwatch.simulate._devices import VLANS, iter_devices
from wardwatch.simulate._layout import plan
from wardwatch.simulate._model import SIZES, Hospital, SimDevice, Site, Size, Unit, UnitPlan
from wardwatch.simulate._writer import Progress, write

__all__ = [
    "CMMS_HEADERS",
    "PLACEHOLDERS",
    "SIZES",
    "VENDOR_SPELLINGS",
    "VLANS",
    "CatalogModel",
    "CmmsRow",
    "Hospital",
    "Progress",
    "SimDevice",
    "Site",
    "Size",
    "Unit",
    "UnitPlan",
    "generate",
    "iter_devices",
    "iter_rows",
    "load_catalog",
    "write",
]


def generate(size: Size, seed: int) -> Hospital:
    """Plan a sample hospital of ``size`` (small, medium, large, xl) from ``seed``.

    Pure and deterministic: the same arguments give an equal :class:`Hospital`, and the same files from
    :func:`write`. Raises ``ValueError`` for an unknown size.
    """
    return plan(size, seed)
