"""Wardwatch: see and reduce the patient-safety risk of a hospital's medical devices and clinical networks.

Layers (dependencies point inward only): ``domain`` (pure) <- ``ingest`` / ``store`` (adapters)
<- ``services`` (use cases) <- ``cli`` (edges).  See ARCHITECTURE in ``docs/``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
