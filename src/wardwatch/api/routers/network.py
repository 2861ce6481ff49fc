"""``/api/network``: the network model (read, import), its violations, attack paths, worm blast radius, recommended
policy and the simulation of a proposed policy.

Every route calls :mod:`wardwatch.services.network_analysis` or :mod:`wardwatch.services.network`.  Reading needs
``network:read``; importing a model and simulating a proposed policy (uploads) need ``network:write``, and an import
is recorded in the audit trail.  Without an imported model the analyses answer 404 "no network model yet".
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse

from wardwatch.api.deps import EngineDep, SettingsDep, allow, client_address
from wardwatch.api.network_schemas import (
    BlastRadiusOut,
    CheckOut,
    NetworkImportOut,
    NetworkModelOut,
    PathsOut,
    RecommendOut,
    SimulateOut,
)
from wardwatch.domain.netmodel import NetworkModel
from wardwatch.domain.permissions import Permission, Principal
from wardwatch.ingest.errors import IngestError
from wardwatch.services import audit
from wardwatch.services import network_analysis as analysis
from wardwatch.services.jobs import save_upload
from wardwatch.services.network import import_network, load_model, stored_network_files
from wardwatch.settings import Settings

__all__ = ["POLICY_FILES", "annotate_zones", "router"]

router = APIRouter(prefix="/api/network", tags=["network"])
Reader = Annotated[Principal, Depends(allow(Permission.NETWORK_READ))]
Writer = Annotated[Principal, Depends(allow(Permission.NETWORK_WRITE))]

#: Largest accepted network file (configs of a large hospital are a few MiB) and most files per upload.
MAX_FILE_BYTES = 50 * 1024**2
MAX_FILES = 30

#: Policy download format -> (file name, media type).
POLICY_FILES: dict[str, tuple[str, str]] = {
    "iptables": ("wardwatch-policy.iptables", "text/plain"),
    "cisco": ("wardwatch-policy-acl.cfg", "text/plain"),
    "doc": ("wardwatch-policy.md", "text/markdown"),
}
_NO_FILES = "no files uploaded: send one or more files in the multipart field `files`"


def _model(engine: EngineDep) -> NetworkModel:
    model = load_model(engine)
    if model is None:
        raise analysis.NoNetworkModel
    return model


def annotate_zones(model: NetworkModel, hosts: Iterator[dict[str, Any]]) -> None:
    """Add each host's zone (the model's zone of its address) so pages can group and colour hosts by zone."""
    for host in hosts:
        address = host.get("address")
        host["zone"] = model.zone_of(address) if isinstance(address, str) else None


@contextmanager
def _saved(settings: Settings, uploads: list[UploadFile]) -> Iterator[list[Path]]:
    """The uploaded files saved under ``<home>/uploads`` (one folder each, keeping their names), removed after."""
    if not uploads:
        raise ValueError(_NO_FILES)
    if len(uploads) > MAX_FILES:
        raise ValueError(f"{len(uploads)} files uploaded; at most {MAX_FILES} make one network model")
    paths: list[Path] = []
    try:
        for upload in uploads:  # one at a time: each saved path must be known to the cleanup below
            paths.append(save_upload(settings, upload.filename or "network.txt", upload.file, limit=MAX_FILE_BYTES))  # noqa: PERF401
        yield paths
    finally:
        for path in paths:
            shutil.rmtree(path.parent, ignore_errors=True)


@router.get("/model", response_model=NetworkModelOut, summary="The stored network model")
def get_model(engine: EngineDep, principal: Reader) -> NetworkModelOut:
    """Files (in evaluation order), zones with their subnets and kind, and the rule count."""
    model = _model(engine)
    files = [{"position": f.position, "file": f.original, "kind": f.kind, "sha256": f.sha256,
              "imported_at": f.imported_at} for f in stored_network_files(engine)]  # fmt: skip
    zones = [{"name": z.name, "kind": z.kind, "subnets": list(z.subnets), "vlans": list(z.vlans), "site": z.site,
              "entry_point": z.entry_point, "description": z.description} for z in model.zones]  # fmt: skip
    counts = model.point_rule_counts()
    bindings = [{"name": p.name, "device": p.device, "interface": p.interface, "direction": p.direction,
                 "acl": p.acl, "entries": counts[p.name], "origin": p.origin} for p in model.points]  # fmt: skip
    return NetworkModelOut.model_validate({
        "files": files, "zones": zones, "rules": len(model.rules), "conduits": len(model.conduits),
        "default_action": model.default_action, "intra_zone": model.intra_zone, "bindings": bindings,
        "notes": list(model.notes),
    })  # fmt: skip


@router.post("/model", response_model=NetworkImportOut, summary="Import a network model (replaces the stored one)")
def post_model(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Writer,
    files: Annotated[list[UploadFile], File(description="Zones YAML, iptables-save files, Cisco IOS/ASA configs.")],
) -> NetworkImportOut:
    """Check every file, then make them the model in the order given; audited (also when a file is refused)."""
    names = ", ".join(f.filename or "?" for f in files)[:300]
    address = client_address(request)
    try:
        with _saved(settings, files) as paths:
            report = import_network(engine, paths)
    except (IngestError, ValueError) as e:
        audit.record_now(engine, principal.username, "network import", target=names, outcome="failure",
                         detail={"error": str(e)[:500]}, address=address)  # fmt: skip
        raise
    result = report.as_dict()
    audit.record_now(engine, principal.username, "network import", target=names, address=address,
                     detail={"zones": report.zones, "rules": report.rules, "changed": report.changed,
                             "files": result["files"]})  # fmt: skip
    result["files"] = [{"position": f.position, "file": f.original, "kind": f.kind, "sha256": f.sha256,
                        "imported_at": f.imported_at} for f in report.files]  # fmt: skip
    return NetworkImportOut.model_validate(result)


@router.get("/check", response_model=CheckOut, summary="Placement and conformance violations")
def get_check(engine: EngineDep, principal: Reader) -> CheckOut:
    """Misplaced and unplaced devices, observed flows no conduit intends, over-broad and unused rules."""
    return CheckOut.model_validate(analysis.check(engine))


@router.get("/paths", response_model=PathsOut, summary="Attack paths to clinical targets")
def get_paths(
    engine: EngineDep,
    principal: Reader,
    sources: Annotated[
        list[str] | None, Query(alias="from", max_length=20, description="Entry zone(s); default: every entry zone.")
    ] = None,
    to: Annotated[str | None, Query(max_length=80, description="Target criticality or device type.")] = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> PathsOut:
    """Ranked by likelihood × impact; each hop with its service, exploit and the rule that lets it through."""
    chosen = [s for s in sources or () if s] or None
    report = analysis.attack_paths(engine, sources=chosen, to=to or None, top=top)
    model = _model(engine)
    annotate_zones(model, (p["target"] for p in report["paths"]))
    annotate_zones(model, (h["to_host"] for p in report["paths"] for h in p["hops"] if h["to_host"]))
    return PathsOut.model_validate(report)


@router.get("/blast-radius", response_model=BlastRadiusOut, summary="WannaCry-style spread from a seed")
def get_blast_radius(
    engine: EngineDep,
    principal: Reader,
    seed: Annotated[str, Query(min_length=1, max_length=200, description="A zone, a device reference or an IP.")],
    steps: Annotated[int, Query(ge=0, le=200)] = 10,
    rng_seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="Same seed, same result.")] = 0,
    worst_case: Annotated[bool, Query(description="Every reachable vulnerable host falls (breadth-first).")] = False,
    block_445: Annotated[bool, Query(description="What if tcp/445 is blocked between zones.")] = False,
    disable_smbv1: Annotated[bool, Query(description="What if SMBv1 is disabled everywhere.")] = False,
) -> BlastRadiusOut:
    """Which hosts fall at each step (5 minutes each), per zone, unit and criticality, and the clinical functions
    that stop."""
    try:
        report = analysis.blast_radius(engine, seed.strip(), steps=steps, rng_seed=rng_seed, worst_case=worst_case,
                                       block_445_between_zones=block_445, disable_smbv1=disable_smbv1)  # fmt: skip
    except analysis.NoNetworkModel:
        raise
    except LookupError as e:  # an unknown seed is bad input, not a missing resource
        raise ValueError(str(e).strip("'\"").replace("--seed ", "seed ", 1)) from e
    annotate_zones(_model(engine), (h for s in report["steps"] for h in s["infected"]))
    return BlastRadiusOut.model_validate(report)


@router.get("/recommend", response_model=RecommendOut, summary="Rule changes that cut the most attack paths")
def get_recommend(engine: EngineDep, principal: Reader) -> RecommendOut:
    """The min cut of the risk-weighted attack paths as rule changes, and the size of the baseline allow-list."""
    return RecommendOut.model_validate(analysis.recommend(engine, "json"))


@router.get(
    "/recommend/policy",
    response_class=PlainTextResponse,
    summary="The recommended allow-list policy as a file",
    responses={200: {"content": {"text/plain": {}, "text/markdown": {}},
                     "description": "iptables-save rules, a Cisco ACL or a policy document (attachment)."}},
)  # fmt: skip
def get_policy(
    engine: EngineDep,
    principal: Reader,
    fmt: Annotated[Literal["iptables", "cisco", "doc"], Query(alias="format")] = "iptables",
) -> PlainTextResponse:
    """The allow-list derived from the observed baseline, with the model's conduits, ready to review and apply."""
    text = analysis.recommend(engine, fmt)
    name, media = POLICY_FILES[fmt]
    return PlainTextResponse(str(text), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/simulate", response_model=SimulateOut, summary="Replay the baseline through a proposed policy")
def post_simulate(
    engine: EngineDep,
    settings: SettingsDep,
    principal: Writer,
    files: Annotated[list[UploadFile], File(description="The proposed policy: zones YAML and/or firewall configs.")],
) -> SimulateOut:
    """The legitimate clinical flows it would break, what it would newly allow and the attack paths it would cut;
    nothing is stored."""
    with _saved(settings, files) as paths:
        return SimulateOut.model_validate(analysis.simulate_policy(engine, paths))
