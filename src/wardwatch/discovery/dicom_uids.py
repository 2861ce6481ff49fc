"""Reference data for the DICOM dissector: well-known SOP classes (with role hints) and implementation UID roots.

Data, not logic: :mod:`wardwatch.discovery.dicom` looks values up here to explain what it saw.  The tables are
deliberately small (the classes and stacks a hospital network shows most); an unknown UID is still reported,
only without a name.

Sources:

- SOP class UIDs and names: DICOM PS3.6 Annex A (Registry of DICOM Unique Identifiers), checked against
  pydicom's ``pydicom._uid_dict`` by ``tests/discovery/test_dicom.py``.
- Implementation class UID roots:

  - pynetdicom: ``PYNETDICOM_UID_PREFIX`` in ``pynetdicom/__init__.py`` (pynetdicom 3.0).
  - pydicom: ``PYDICOM_ROOT_UID`` in ``pydicom/uid.py`` (pydicom 3.0).
  - DCMTK: ``OFFIS_UID_ROOT`` in ``dcmdata/include/dcmtk/dcmdata/dcuid.h`` (OFFIS e.V.).
  - fo-dicom: ``DicomImplementation.ClassUID`` and its DICOM conformance statement ("The Implementation Class
    UID is 1.3.6.1.4.1.30071.8").
  - dcm4che: ``Implementation.getClassUID()`` in dcm4che-core (``1.2.40.0.13.1.x``).
  - Varian: Eclipse/ARIA export implementation class UIDs ``1.2.246.352.70.2.1.x`` seen in public RT tools.
  - GE Healthcare ``1.2.840.113619``, Siemens (Healthineers) ``1.3.12.2.1107``, Philips ``1.3.46.670589``,
    Toshiba/Canon Medical ``1.2.392.200036.9116``: the organisation roots of those vendors' UIDs, as printed in
    their DICOM conformance statements and seen in the instance UIDs of public DICOM data sets.
"""

from __future__ import annotations

from typing import Final

__all__ = ["IMPLEMENTATION_ROOTS", "SOP_CLASSES", "STORAGE_MODALITIES", "implementation_vendor"]

_IMAGE = "1.2.840.10008.5.1.4.1.1."

STORAGE_MODALITIES: Final[dict[str, tuple[str, str]]] = {
    # UID: (PS3.6 name, what kind of equipment produces it)
    _IMAGE + "1": ("Computed Radiography Image Storage", "CR"),
    _IMAGE + "1.1": ("Digital X-Ray Image Storage - For Presentation", "DX"),
    _IMAGE + "1.1.1": ("Digital X-Ray Image Storage - For Processing", "DX"),
    _IMAGE + "1.2": ("Digital Mammography X-Ray Image Storage - For Presentation", "MG"),
    _IMAGE + "1.2.1": ("Digital Mammography X-Ray Image Storage - For Processing", "MG"),
    _IMAGE + "1.3": ("Digital Intra-Oral X-Ray Image Storage - For Presentation", "IO"),
    _IMAGE + "2": ("CT Image Storage", "CT"),
    _IMAGE + "2.1": ("Enhanced CT Image Storage", "CT"),
    _IMAGE + "3.1": ("Ultrasound Multi-frame Image Storage", "US"),
    _IMAGE + "4": ("MR Image Storage", "MR"),
    _IMAGE + "4.1": ("Enhanced MR Image Storage", "MR"),
    _IMAGE + "6.1": ("Ultrasound Image Storage", "US"),
    _IMAGE + "6.2": ("Enhanced US Volume Storage", "US"),
    _IMAGE + "7": ("Secondary Capture Image Storage", "SC"),
    _IMAGE + "9.1.1": ("12-lead ECG Waveform Storage", "ECG"),
    _IMAGE + "9.1.2": ("General ECG Waveform Storage", "ECG"),
    _IMAGE + "9.1.3": ("Ambulatory ECG Waveform Storage", "ECG"),
    _IMAGE + "9.2.1": ("Hemodynamic Waveform Storage", "HD"),
    _IMAGE + "9.3.1": ("Cardiac Electrophysiology Waveform Storage", "EPS"),
    _IMAGE + "12.1": ("X-Ray Angiographic Image Storage", "XA"),
    _IMAGE + "12.2": ("X-Ray Radiofluoroscopic Image Storage", "RF"),
    _IMAGE + "13.1.3": ("Breast Tomosynthesis Image Storage", "MG"),
    _IMAGE + "20": ("Nuclear Medicine Image Storage", "NM"),
    _IMAGE + "77.1.1": ("VL Endoscopic Image Storage", "ES"),
    _IMAGE + "77.1.4": ("VL Photographic Image Storage", "XC"),
    _IMAGE + "77.1.5.1": ("Ophthalmic Photography 8 Bit Image Storage", "OP"),
    _IMAGE + "77.1.5.4": ("Ophthalmic Tomography Image Storage", "OPT"),
    _IMAGE + "88.67": ("X-Ray Radiation Dose SR Storage", "SR"),
    _IMAGE + "128": ("Positron Emission Tomography Image Storage", "PT"),
    _IMAGE + "130": ("Enhanced PET Image Storage", "PT"),
    _IMAGE + "481.1": ("RT Image Storage", "RTIMAGE"),
    _IMAGE + "481.2": ("RT Dose Storage", "RTDOSE"),
    _IMAGE + "481.3": ("RT Structure Set Storage", "RTSTRUCT"),
    _IMAGE + "481.4": ("RT Beams Treatment Record Storage", "RTRECORD"),
    _IMAGE + "481.5": ("RT Plan Storage", "RTPLAN"),
}
"""Storage SOP classes: the requestor sends these objects (a modality, or a PACS/workstation forwarding them)."""

SOP_CLASSES: Final[dict[str, tuple[str, str]]] = {
    # UID: (PS3.6 name, what proposing it says about the requestor and the acceptor)
    "1.2.840.10008.1.1": ("Verification SOP Class", "C-ECHO connectivity check"),
    "1.2.840.10008.1.20.1": (
        "Storage Commitment Push Model SOP Class",
        "asks the archive to take responsibility for stored images: typically a modality",
    ),
    "1.2.840.10008.3.1.2.3.3": (
        "Modality Performed Procedure Step SOP Class",
        "reports procedure progress (MPPS): a modality; the acceptor is a RIS or MPPS manager",
    ),
    "1.2.840.10008.5.1.4.31": (
        "Modality Worklist Information Model - FIND",
        "queries the modality worklist: a modality; the acceptor is a RIS or worklist broker",
    ),
    "1.2.840.10008.5.1.4.1.2.1.1": (
        "Patient Root Query/Retrieve Information Model - FIND",
        "queries an archive: a workstation, viewer or modality; the acceptor is a PACS",
    ),
    "1.2.840.10008.5.1.4.1.2.1.2": (
        "Patient Root Query/Retrieve Information Model - MOVE",
        "retrieves from an archive: a workstation or viewer; the acceptor is a PACS",
    ),
    "1.2.840.10008.5.1.4.1.2.1.3": (
        "Patient Root Query/Retrieve Information Model - GET",
        "retrieves from an archive: a workstation or viewer; the acceptor is a PACS",
    ),
    "1.2.840.10008.5.1.4.1.2.2.1": (
        "Study Root Query/Retrieve Information Model - FIND",
        "queries an archive: a workstation, viewer or modality; the acceptor is a PACS",
    ),
    "1.2.840.10008.5.1.4.1.2.2.2": (
        "Study Root Query/Retrieve Information Model - MOVE",
        "retrieves from an archive: a workstation or viewer; the acceptor is a PACS",
    ),
    "1.2.840.10008.5.1.4.1.2.2.3": (
        "Study Root Query/Retrieve Information Model - GET",
        "retrieves from an archive: a workstation or viewer; the acceptor is a PACS",
    ),
    "1.2.840.10008.5.1.1.9": (
        "Basic Grayscale Print Management Meta SOP Class",
        "prints film: a modality or workstation; the acceptor is a DICOM printer",
    ),
    "1.2.840.10008.5.1.1.18": (
        "Basic Color Print Management Meta SOP Class",
        "prints film: a modality or workstation; the acceptor is a DICOM printer",
    ),
    "1.2.840.10008.5.1.4.33": (
        "Instance Availability Notification SOP Class",
        "announces stored studies: an archive; the acceptor is a RIS or another PACS",
    ),
    "1.2.840.10008.5.1.4.34.6.1": (
        "Unified Procedure Step - Push SOP Class",
        "creates worklist items (UPS): a scheduler or RIS",
    ),
    _IMAGE + "88.11": ("Basic Text SR Storage", "sends structured reports: a modality or reporting system"),
    _IMAGE + "88.22": ("Enhanced SR Storage", "sends structured reports: a modality or reporting system"),
    _IMAGE + "88.33": ("Comprehensive SR Storage", "sends structured reports: a modality or reporting system"),
    _IMAGE + "88.59": ("Key Object Selection Document Storage", "sends key image notes: a workstation or PACS"),
    _IMAGE + "104.1": ("Encapsulated PDF Storage", "sends PDF reports: a modality or reporting system"),
    _IMAGE + "11.1": (
        "Grayscale Softcopy Presentation State Storage",
        "sends presentation states: a workstation or modality",
    ),
}
"""Other well-known SOP classes, with a hint of the equipment that proposes them."""

IMPLEMENTATION_ROOTS: Final[tuple[tuple[str, str], ...]] = (
    ("1.2.826.0.1.3680043.9.3811", "pynetdicom"),
    ("1.2.826.0.1.3680043.8.498", "pydicom"),
    ("1.2.276.0.7230010.3", "DCMTK (OFFIS)"),
    ("1.3.6.1.4.1.30071.8", "fo-dicom"),
    ("1.2.40.0.13.1", "dcm4che"),
    ("1.2.840.113619", "GE Healthcare"),
    ("1.3.12.2.1107", "Siemens Healthineers"),
    ("1.3.46.670589", "Philips"),
    ("1.2.392.200036.9116", "Toshiba / Canon Medical Systems"),
    ("1.2.246.352", "Varian Medical Systems"),
)
"""Implementation class UID roots and the DICOM stack or vendor they belong to (sources in the module docstring)."""


def implementation_vendor(uid: str) -> str | None:
    """The stack or vendor whose root ``uid`` falls under (longest root wins), or ``None``.

    >>> implementation_vendor("1.2.276.0.7230010.3.0.3.6.8")
    'DCMTK (OFFIS)'
    >>> implementation_vendor("1.2.3.4") is None
    True
    """
    best: tuple[str, str] | None = None
    for root, vendor in IMPLEMENTATION_ROOTS:
        if (uid == root or uid.startswith(root + ".")) and (best is None or len(root) > len(best[0])):
            best = (root, vendor)
    return None if best is None else best[1]
