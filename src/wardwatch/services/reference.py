"""The reference services an import needs, built from the packaged reference data."""

from __future__ import annotations

from collections.abc import Callable

from wardwatch.domain.device_types import Classification
from wardwatch.domain.inventory import ClinicalProfile
from wardwatch.domain.manufacturers import NormalizedManufacturer
from wardwatch.reference import device_type_classifier, manufacturer_catalog

__all__ = ["clinical_defaults", "row_normalizer_parts"]


def clinical_defaults(slug: str) -> ClinicalProfile | None:
    """The default clinical profile of a device type."""
    found = device_type_classifier().get(slug)
    return found.profile if found is not None else None


def row_normalizer_parts() -> tuple[
    Callable[[str], NormalizedManufacturer | None],
    Callable[[str | None, str | None, str | None], Classification | None],
    Callable[[str], ClinicalProfile | None],
]:
    """(manufacturer normaliser, device classifier, clinical defaults) for :class:`RowNormalizer`."""
    return manufacturer_catalog().normalize, device_type_classifier().classify, clinical_defaults
