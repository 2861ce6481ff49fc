"""Incident playbooks run on live data: the playbook files, the inventory, the network model, the findings and the
stored FDA recalls (``wardwatch playbook``, ``/api/incidents/playbooks``).

The playbooks are ``data/playbooks/<name>.yaml``; a file of the same name in ``<WARDWATCH_HOME>/playbooks`` replaces
the packaged one (the hospital fills in its contacts and procedures there).  :func:`run_playbook` loads what the
playbook's rule needs (:mod:`wardwatch.domain.playbooks`) and returns one JSON-ready document: the affected
devices with why, counts by unit and clinical category, the isolation steps, the playbook's steps, the downtime
procedures of the categories present and the contacts (with a support line per manufacturer affected).  A run
changes nothing; a clinician sees their own unit's devices only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from wardwatch.domain import playbooks as domain
from wardwatch.domain.netmodel import HostFacts
from wardwatch.domain.permissions import Permission, Principal, require
from wardwatch.domain.worm import MS17_010
from wardwatch.ingest._bounded import read_capped
from wardwatch.ingest._yamlread import read_yaml_document
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.openfda import read_recalls
from wardwatch.reference import manufacturer_catalog
from wardwatch.services import model_security
from wardwatch.services.network import load_hosts, load_model
from wardwatch.services.network_analysis import Context, _seed
from wardwatch.settings import Settings
from wardwatch.store.database import ensure_ready
from wardwatch.store.schema import devices, interfaces, sites, units, vulnerability_findings

__all__ = ["PACKAGED", "list_playbooks", "load_playbook", "run_playbook"]

PACKAGED = Path(__file__).resolve().parent.parent / "data" / "playbooks"
_MAX_BYTES = 1024**2
_TIP = "see docs/incidents.md for the playbook format (title, when, steps, downtime, contacts)"
_MAX_TEXT = 200


def _path(name: str, settings: Settings | None) -> Path:
    if name not in domain.PLAYBOOK_NAMES:
        raise LookupError(f"no playbook {name!r}: the playbooks are {', '.join(domain.PLAYBOOK_NAMES)}")
    if settings is not None:
        local = settings.home / "playbooks" / f"{name}.yaml"
        if local.is_file():
            return local
    return PACKAGED / f"{name}.yaml"


def load_playbook(name: str, settings: Settings | None = None) -> domain.Playbook:
    """A playbook by name (the hospital's copy when there is one); ``LookupError`` for an unknown name,
    :class:`IngestError` naming the file and the field for a bad file."""
    path = _path(name, settings)
    document = read_yaml_document(path, limit=_MAX_BYTES, what="playbook", tip=_TIP)
    try:
        return domain.parse_playbook(name, document)
    except ValueError as e:
        raise IngestError(str(path), str(e), tip=_TIP) from e


def list_playbooks(settings: Settings | None = None) -> list[dict[str, Any]]:
    """Every playbook: name, title, when to use it, its parameters and its number of steps."""
    out = []
    for name in domain.PLAYBOOK_NAMES:
        book = load_playbook(name, settings)
        out.append({"name": name, "title": book.title, "when": book.when, "steps": len(book.steps),
                    "parameters": list(_PARAMETERS[name])})  # fmt: skip
    return out


_PARAMETERS: Mapping[str, tuple[str, ...]] = {"wannacry": ("seed",), "vendor-account": ("manufacturer",),
                                               "recall": ("recall",)}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- live data


def _devices(engine: Engine) -> dict[int, domain.DeviceInfo]:
    """Every device with its unit, site and first address."""
    first_ip: dict[int, str] = {}
    with engine.connect() as connection:
        for device_id, ip in connection.execute(
            select(interfaces.c.device_id, interfaces.c.ip).where(interfaces.c.ip.is_not(None))
            .order_by(interfaces.c.device_id, interfaces.c.id)
        ):  # fmt: skip
            first_ip.setdefault(device_id, ip)
        rows = connection.execute(
            select(devices.c.id, devices.c.asset_tag, devices.c.manufacturer, devices.c.model, devices.c.device_type,
                   devices.c.criticality, units.c.department, sites.c.name.label("site"))
            .select_from(devices.outerjoin(units, devices.c.unit_id == units.c.id)
                         .outerjoin(sites, devices.c.site_id == sites.c.id))
            .order_by(devices.c.id)
        ).all()  # fmt: skip
    out = {}
    for row in rows:
        name = row.asset_tag or " ".join(x for x in (row.manufacturer, row.model) if x) or f"device {row.id}"
        out[row.id] = domain.DeviceInfo(row.id, name, row.device_type, row.department, row.site, row.criticality,
                                        row.manufacturer, row.model, first_ip.get(row.id))  # fmt: skip
    return out


def _unaddressed_vulnerable(engine: Engine, hosts: Sequence[HostFacts]) -> list[HostFacts]:
    """Windows devices with no address and an open MS17-010 finding (the worm cannot be simulated on them)."""
    on_network = {h.device_id for h in hosts}
    vf = vulnerability_findings.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(devices.c.id, devices.c.asset_tag, devices.c.os_name, devices.c.os_version, vf.vulnerability_id)
            .join(vulnerability_findings, vf.device_id == devices.c.id)
            .where(vf.vulnerability_id.in_(sorted(MS17_010)), vf.resolved_at.is_(None),
                   vf.suppressed.is_(False))
        ).all()  # fmt: skip
    found: dict[int, HostFacts] = {}
    for row in rows:
        if row.id in on_network:
            continue
        old = found.get(row.id)
        os_name = " ".join(x for x in (row.os_name, row.os_version) if x) or None
        cves = (*old.vulnerabilities, row.vulnerability_id) if old else (row.vulnerability_id,)
        found[row.id] = HostFacts("", row.id, row.asset_tag or "", os=os_name, vulnerabilities=cves)
    return list(found.values())


def _manufacturer_ids(info: Mapping[int, domain.DeviceInfo], manufacturer: str) -> set[int]:
    catalog = manufacturer_catalog()
    wanted = catalog.normalize(manufacturer)
    if wanted is None:
        raise ValueError(f"--manufacturer {manufacturer!r} is not a manufacturer name")
    keys: dict[str, str | None] = {}
    out = set()
    for device_id, device in info.items():
        raw = device.manufacturer or ""
        if raw not in keys:
            found = catalog.normalize(raw) if raw else None
            keys[raw] = found.key if found else None
        if keys[raw] == wanted.key:
            out.add(device_id)
    if not out:
        makers = Counter(d.manufacturer for d in info.values() if d.manufacturer)
        known = ", ".join(m for m, _ in makers.most_common(8))
        raise LookupError(f"no device of manufacturer {manufacturer!r} in the inventory (e.g. {known})")
    return out


def _remote_service(engine: Engine, info: Mapping[int, domain.DeviceInfo]) -> dict[int, bool | None]:
    with engine.connect() as connection:
        index = model_security.load_index(connection)
    out: dict[int, bool | None] = {}
    for device_id, device in info.items():
        form = index.get(device.manufacturer, device.model) if index else None
        value = form.capabilities.get("remote_service") if form is not None else None
        out[device_id] = value if isinstance(value, bool) else None
    return out


def _recall_matches(engine: Engine) -> list[tuple[int, str, list[str]]]:
    vf = vulnerability_findings.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(vf.device_id, vf.vulnerability_id, vf.detail)
            .where(vf.source == "fda-recall", vf.resolved_at.is_(None), vf.suppressed.is_(False))
            .order_by(vf.vulnerability_id, vf.device_id)
        ).all()  # fmt: skip
    out = []
    for device_id, number, detail in rows:
        try:
            evidence = [str(e) for e in orjson.loads(detail).get("evidence", [])]
        except (orjson.JSONDecodeError, AttributeError):
            evidence = []
        out.append((int(device_id), str(number), evidence))
    return out


def _recall_records(settings: Settings | None) -> dict[str, domain.RecallInfo]:
    """The stored openFDA recalls by number, with the manufacturer's action read from the same records."""
    if settings is None:
        return {}
    from wardwatch.services.intel import stored_files  # noqa: PLC0415 - the intel service is heavy to import

    out: dict[str, domain.RecallInfo] = {}
    for kind, path in stored_files(settings):
        if kind != "openfda":
            continue
        try:
            records = read_recalls(path)
            actions = _actions(path)
        except IngestError:
            continue  # an unreadable stored file was refused at import; never fail a playbook on it
        for recall in records:
            out[recall.recall_number] = domain.RecallInfo(
                recall.recall_number, recall.classification, recall.status, recall.reason,
                actions.get(recall.recall_number), recall.manufacturer, recall.product_description,
                recall.posted.isoformat() if recall.posted else None,
            )  # fmt: skip
    return out


def _actions(path: Path) -> dict[str, str]:
    """Recall number -> the openFDA ``action`` text (what the firm told its customers to do)."""
    try:
        document = json.loads(read_capped(path, limit=1024**3, what="openFDA recall file"))
    except ValueError:
        return {}
    results = document.get("results") if isinstance(document, Mapping) else document
    out: dict[str, str] = {}
    for raw in results if isinstance(results, list) else []:
        if not isinstance(raw, Mapping):
            continue
        record = {str(k).replace("-", "_"): v for k, v in raw.items()}
        number = record.get("product_res_number") or record.get("recall_number")
        action = record.get("action")
        if isinstance(number, str) and isinstance(action, str) and action.strip():
            out[number.strip()] = " ".join(action.split())
    return out


# ----------------------------------------------------------------------------------------------------------- run


def _short(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > _MAX_TEXT:
        raise ValueError(f"{what} is too long (at most {_MAX_TEXT} characters)")
    return value.strip()


def run_playbook(
    engine: Engine,
    principal: Principal,
    name: str,
    *,
    seed: str | None = None,
    manufacturer: str | None = None,
    recall: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run one playbook on the live data (read-only; needs ``incidents:read``).  Parameters: ``seed`` (wannacry:
    a zone, a device or an IP address; default every vulnerable host), ``manufacturer`` (vendor-account), ``recall``
    (recall: one recall number; default every open recall).  ``LookupError`` for an unknown playbook, device or
    recall, ``ValueError`` for a parameter the playbook does not take."""
    require(principal, Permission.INCIDENTS_READ)
    book = load_playbook(name, settings)
    parameters = {"seed": _short(seed, "--seed"), "manufacturer": _short(manufacturer, "--manufacturer"),
                  "recall": _short(recall, "--recall")}  # fmt: skip
    for key, value in parameters.items():
        if value is not None and key not in _PARAMETERS[name]:
            raise ValueError(f"the {name} playbook takes no --{key} (it takes: --{', --'.join(_PARAMETERS[name])})")
    ensure_ready(engine)
    info = _devices(engine)
    if name == "wannacry":
        outcome = _run_wannacry(engine, info, parameters["seed"])
    elif name == "vendor-account":
        model = load_model(engine)
        hosts = load_hosts(engine) if model is not None else []
        maker = parameters["manufacturer"]
        keep = _manufacturer_ids(info, maker) if maker else None
        remote = _remote_service(engine, info) if model is None or not any(
            z.kind == "vendor-remote" for z in model.zones) else None  # fmt: skip
        outcome = domain.vendor_account(model, hosts, info, remote_service=remote, keep=keep)
    else:
        outcome = domain.recall(_recall_matches(engine), info, _recall_records(settings), only=parameters["recall"])
    document = _document(book, outcome, {k: v for k, v in parameters.items() if v is not None})
    return scoped(document, principal)


def _run_wannacry(engine: Engine, info: Mapping[int, domain.DeviceInfo], seed: str | None) -> domain.Outcome:
    model = load_model(engine)
    hosts = load_hosts(engine)
    extra = _unaddressed_vulnerable(engine, hosts)
    seeds: list[str] = []
    zone = None
    if seed is not None and model is not None:
        seeds, zone = _seed(engine, Context(model, hosts, []), seed)
    outcome = domain.wannacry(model, hosts, info, seeds=seeds, seed_zone=zone, extra=extra)
    if seed is not None and model is None:
        notes = (*outcome.notes, f"--seed {seed} ignored: the spread needs a network model")
        outcome = domain.Outcome(outcome.affected, outcome.isolation, notes, outcome.facts)
    return outcome


def _affected_json(item: domain.Affected) -> dict[str, Any]:
    d = item.device
    return {
        "device_id": d.id or None, "name": d.name, "type": d.device_type, "manufacturer": d.manufacturer,
        "model": d.model, "unit": d.unit, "site": d.site, "criticality": d.criticality, "address": d.address,
        "zone": item.zone, "category": item.category, "status": item.status, "why": item.why, "step": item.step,
        "minutes": item.minutes,
    }  # fmt: skip


def _document(book: domain.Playbook, outcome: domain.Outcome, parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "playbook": book.name,
        "title": book.title,
        "when": book.when,
        "parameters": parameters,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "severity": outcome.severity,
        "affected": [_affected_json(a) for a in outcome.affected],
        "isolation": [
            {"id": s.id, "action": s.action, "detail": s.detail, "zone": s.zone, "rule": s.rule}
            for s in outcome.isolation
        ],  # fmt: skip
        "steps": [{"id": s.id, "phase": s.phase, "text": s.text, "who": s.who} for s in book.steps],
        "downtime_procedures": {k: list(v) for k, v in book.downtime.items()},
        "base_contacts": [{"role": c.role, "name": c.name, "reach": c.reach} for c in book.contacts],
        "manufacturer_support": dict(book.manufacturer_support),
        "notes": list(outcome.notes),
        "facts": dict(outcome.facts),
    }


def scoped(document: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """A run document as ``principal`` may see it (a clinician: their unit's devices only) with the parts that
    follow from its affected devices: total, counts by unit and category, severity, downtime and contacts."""
    out = dict(document)
    affected = list(document["affected"])
    if principal.unit_scoped:
        affected = [a for a in affected if a["unit"] == principal.unit]
        out["unit"] = principal.unit
    out["affected"] = affected
    out["total"] = len(affected)
    pairs = [(a["unit"], a["category"]) for a in affected]
    out["by_unit"], out["by_category"] = domain.by_unit_and_category(pairs)
    out["severity"] = domain.severity_of((a["criticality"], a["category"]) for a in affected)
    categories = Counter(category for _, category in pairs)
    procedures = document["downtime_procedures"]
    out["downtime"] = [{"category": k, "devices": categories[k], "procedures": procedures.get(k, [])}
                       for k in domain.CATEGORIES if categories[k]]  # fmt: skip
    makers = Counter(a["manufacturer"] for a in affected if a["manufacturer"])
    support = document["manufacturer_support"]
    placeholder = "<support line from the service contract>"
    out["contacts"] = [*document["base_contacts"], *(
        {"role": f"Manufacturer support: {m}", "name": m, "reach": support.get(m, placeholder), "devices": n}
        for m, n in sorted(makers.items(), key=lambda i: (-i[1], i[0]))
    )]  # fmt: skip
    return out
