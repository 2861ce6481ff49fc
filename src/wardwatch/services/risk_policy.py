"""The packaged device-risk policies (``wardwatch/data/risk/policy-<version>.yaml``), parsed once per process.

This module is the only one that reads the policy files; :mod:`wardwatch.domain.risk_policy` checks them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from wardwatch.domain.risk_policy import RiskPolicy, RiskPolicyError, policy_from_mapping

__all__ = ["available_versions", "load_policy"]

_PACKAGE = "wardwatch.data"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


@cache
def available_versions() -> tuple[str, ...]:
    """Every packaged policy version, oldest first."""
    folder = resources.files(_PACKAGE).joinpath("risk")
    names = [f.name for f in folder.iterdir() if f.name.startswith("policy-") and f.name.endswith(".yaml")]
    return tuple(sorted((n[len("policy-") : -len(".yaml")] for n in names), key=_version_key))


@cache
def load_policy(version: str | None = None) -> RiskPolicy:
    """The policy of ``version`` (default: the newest); :class:`RiskPolicyError` if unknown or invalid."""
    versions = available_versions()
    if not versions:  # pragma: no cover - the package always ships a policy
        raise RiskPolicyError("no risk policy is packaged")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise RiskPolicyError(f"risk policy {chosen!r} is unknown; available: {', '.join(versions)}")
    text = resources.files(_PACKAGE).joinpath("risk").joinpath(f"policy-{chosen}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise RiskPolicyError(f"risk policy file policy-{chosen}.yaml is not a mapping")
    policy = policy_from_mapping(data)
    if policy.version != chosen:
        raise RiskPolicyError(f"policy-{chosen}.yaml says version {policy.version!r}; the file name must match")
    return policy
