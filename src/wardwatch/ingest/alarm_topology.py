"""The alarm topology YAML: nodes, links, shared-risk groups, alarm sources, budgets and candidate additions of an
alarm-delivery network, written by hand (docs/alarms.md, "The topology file (YAML)").

:func:`read_alarm_topology` reads one file; :func:`parse_alarm_topology` parses text already in memory (an
upload).  Both return a :class:`~wardwatch.domain.alarm_model.AlarmTopology`.

Every field is checked; a bad one raises :class:`~wardwatch.ingest.errors.IngestError` naming the file, the line,
the place inside the YAML (``links[3].latency``) and what to write instead.  Like :mod:`wardwatch.ingest.netyaml`,
the file is parsed with PyYAML's safe loader (its C version when available) after a 16 MiB size check, and the
number of entries visited is capped, so alias tricks ("billion laughs") cannot make validation run away.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, cast

import yaml

from wardwatch.domain.alarm_model import (
    GROUP_KINDS,
    AlarmSource,
    AlarmTopology,
    Budget,
    Candidate,
    Failover,
    Latency,
    Link,
    Medium,
    Node,
    Priority,
    RiskGroup,
)
from wardwatch.ingest._bounded import MIB, read_capped
from wardwatch.ingest.errors import IngestError

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = ["MAX_YAML_BYTES", "parse_alarm_topology", "read_alarm_topology"]

MAX_YAML_BYTES: Final = 16 * MIB
"""Largest alarm topology accepted: far above any hand-written model."""

_MAX_ITEMS: Final = 200_000
"""Entries visited while validating (aliases can make a small file look huge)."""

_TOP_KEYS = ("name", "nodes", "links", "groups", "sources", "budgets", "candidates")
_NODE_KEYS = ("id", "kind", "name", "unit", "site", "processing", "failover", "failable")
_LINK_KEYS = ("id", "a", "b", "latency", "medium", "capacity_mbps", "directed")
_GROUP_KEYS = ("id", "kind", "description", "members")
_SOURCE_KEYS = ("node", "unit", "devices", "device_kind", "alarms")
_BUDGET_KEYS = (
    "unit", "alarm", "priority", "max_delivery", "primary", "escalation", "escalate_after", "confirmed",
    "heartbeat", "approved_by", "approved_at", "version", "rationale",
)  # fmt: skip
_CANDIDATE_KEYS = ("id", "description", "cost", "nodes", "links", "groups")
_FAILOVER_KEYS = ("detection", "retry")
_HEARTBEAT_KEYS = ("interval", "misses")
_RANGE_KEYS = ("min", "typical", "max")
_PERCENTILE_KEYS = ("p50", "p95", "p99")
_MEDIA = tuple(m.value for m in Medium)
_PRIORITIES = tuple(p.value for p in Priority)
_TIP = "see the topology file format in docs/alarms.md"
_LATENCY_TIP = "write seconds (0.2), {min: 0.05, typical: 0.1, max: 0.2} or {p50: 0.1, p95: 0.2, p99: 0.3}"


def read_alarm_topology(path: Path) -> AlarmTopology:
    """Read and check one alarm topology YAML file (plain or gzip, at most 16 MiB)."""
    raw = read_capped(Path(path), limit=MAX_YAML_BYTES, what="alarm topology YAML file")
    return parse_alarm_topology(raw, str(path))


def parse_alarm_topology(text: str | bytes, path: str) -> AlarmTopology:
    """Parse and check alarm topology YAML held in memory; ``path`` only names the source in error messages."""
    if len(text) > MAX_YAML_BYTES:
        raise IngestError(path, "is larger than 16 MiB", tip="this is not a plausible alarm topology YAML file")
    if isinstance(text, bytes):
        if b"\x00" in text:
            raise IngestError(path, "is not a text file (it contains NUL bytes)", tip=_TIP)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise IngestError(path, f"is not UTF-8 text (byte {e.start})", tip="save it as UTF-8") from e
    elif "\x00" in text:
        raise IngestError(path, "is not a text file (it contains NUL bytes)", tip=_TIP)
    loader = _Loader(text.removeprefix("\ufeff"))
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(path, e) from e
    except (yaml.YAMLError, RecursionError) as e:
        raise IngestError(path, f"is not valid YAML ({type(e).__name__})", tip=_TIP) from e
    finally:
        loader.dispose()
    return _Checker(path, loader.marks).document(document)


def _syntax_error(path: str, e: yaml.MarkedYAMLError) -> IngestError:
    line = e.problem_mark.line + 1 if e.problem_mark else None
    problem = e.problem or "syntax error"
    tip = "check the indentation, colons and quotes on that line"
    if isinstance(e, yaml.constructor.ConstructorError):
        tip = "correct the value on that line"
    if "alias" in (e.context or ""):
        tip = 'a bare * starts a YAML alias: write "*" in quotes for every unit or alarm type'
    return IngestError(path, f"is not valid YAML ({problem})", row=line, tip=tip)


class _Loader(_SafeLoader):
    """The safe loader, remembering the line of every mapping and list and of their keys and items."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.marks: dict[int, tuple[int, dict[str, int] | list[int]]] = {}

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            data = super().construct_object(node, deep)
        except (ValueError, OverflowError) as e:  # a timestamp like 2026-13-02, an integer of 5,000 digits
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {node.value!r:.60}: {e}",
                                                    node.start_mark) from e  # fmt: skip
        if isinstance(data, dict | list) and id(data) not in self.marks:
            inner: dict[str, int] | list[int]
            if isinstance(node, yaml.MappingNode):
                inner = {
                    key.value: key.start_mark.line + 1 for key, _ in node.value if isinstance(key, yaml.ScalarNode)
                }
            else:
                inner = [item.start_mark.line + 1 for item in node.value]
            self.marks[id(data)] = (node.start_mark.line + 1, inner)
        return data


class _Checker:
    """Validates the parsed document, counting visited entries and tracking where each place is."""

    def __init__(self, path: str, marks: Mapping[int, tuple[int, dict[str, int] | list[int]]]) -> None:
        self.path = path
        self.marks = marks
        self.rows: dict[str, int] = {}
        self.visited = 0
        self.ids: dict[str, str] = {}
        """Every node, link and group id (of the topology and its candidates) -> where it was defined."""

    # -- helpers ------------------------------------------------------------------------------------------------

    def error(self, where: str, message: str, tip: str = _TIP) -> IngestError:
        if len(message) > 300:  # an id or key thousands of characters long stays a one-line message
            message = message[:300] + "…"
        return IngestError(self.path, message, row=self.row_of(where), column=where or None, tip=tip)

    def row_of(self, where: str) -> int | None:
        while where:
            if where in self.rows:
                return self.rows[where]
            cut = max(where.rfind("."), where.rfind("["))
            if cut <= 0:
                return None
            where = where[:cut]
        return None

    def tick(self, count: int) -> None:
        self.visited += count
        if self.visited > _MAX_ITEMS:
            raise IngestError(self.path, f"has more than {_MAX_ITEMS:,} entries (YAML aliases?)", tip=_TIP)

    def record(self, value: object, where: str) -> None:
        """Remember the lines of ``value`` (a mapping or list at ``where``) and of its keys or items."""
        marks = self.marks.get(id(value))
        if marks is None:
            return
        line, inner = marks
        self.rows.setdefault(where, line)  # a key's own line (latency:) rather than its block's first line
        prefix = f"{where}." if where else ""
        if isinstance(inner, dict):
            for key, key_line in inner.items():
                self.rows[prefix + key] = key_line
        else:
            for i, item_line in enumerate(inner):
                self.rows[f"{where}[{i}]"] = item_line

    def mapping(self, value: object, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"should be a mapping with keys {', '.join(keys)}, not {_show(value)}")
        self.tick(len(value))
        self.record(value, where)
        for key in value:
            if key not in keys:
                name = _clip(str(key))
                here = f"{where}.{name}" if where else name
                close = difflib.get_close_matches(name, keys, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                shown = f"'{name}'" if isinstance(key, str) else _show(key)
                raise self.error(here, f"unknown key {shown}{hint}", tip=f"allowed keys: {', '.join(keys)}")
        return cast(dict[str, Any], value)

    def items(self, value: object, where: str, *, scalar_ok: bool = False) -> list[Any]:
        if value is None:
            return []
        if scalar_ok and isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise self.error(where, f"should be a list, not {_show(value)}")
        self.tick(len(value))
        self.record(value, where)
        return value

    def text(self, value: object, where: str, *, required: bool = False, what: str = "text") -> str:
        if value is None:
            if required:
                raise self.error(where, "missing (it is required)", tip=f"write {where.rsplit('.', 1)[-1]}: {what}")
            return ""
        if not isinstance(value, str):
            raise self.error(where, f"should be {what}, not {_show(value)}", tip="put it in quotes")
        value = value.strip()
        if required and not value:
            raise self.error(where, "must not be empty", tip=f"write {what}")
        return value

    def ident(self, value: object, where: str) -> str:
        return self.text(value, where, required=True, what="an id")

    def number(
        self, value: object, where: str, *, positive: bool = False, what: str = "seconds", tip: str | None = None
    ) -> float:
        wanted = f"a number of {what}" + (" above 0" if positive else "")
        if isinstance(value, bool) or not isinstance(value, int | float):
            tip = tip or f"write {what} as a plain number"
            written = _as_number(value) if isinstance(value, str) else None
            if written is not None:
                tip = f"YAML read it as text; write it as a plain number such as {written:.6g}"
            raise self.error(where, f"should be {wanted}, not {_show(value)}", tip=tip)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.error(where, f"should be {wanted}, not {_show(value)}", tip=f"write a finite number of {what}")
        if number < 0 or (positive and number == 0):
            raise self.error(where, f"should be {wanted}, not {_show(value)}", tip=f"write {wanted}")
        return number

    def whole(self, value: object, where: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(where, f"should be a whole number of at least {minimum}, not {_show(value)}",
                             tip=f"write a whole number such as {max(minimum, 1)}")  # fmt: skip
        return value

    def flag(self, value: object, where: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(where, f"should be true or false, not {_show(value)}", tip="write true or false")
        return value

    def choice(self, value: object, where: str, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value.strip().lower() not in choices:
            raise self.error(where, f"should be one of {', '.join(choices)}, not {_show(value)}",
                             tip=f"write one of {', '.join(choices)}")  # fmt: skip
        return value.strip().lower()

    def claim(self, element_id: str, where: str, *, default_link: bool = False) -> None:
        """Register a node, link or group id; ids share one namespace across the topology and its candidates."""
        owner = self.ids.get(element_id)
        if owner is not None:
            if default_link:
                raise self.error(where, f"no id given, and the default id '{element_id}' is already used by {owner}",
                                 tip="give this link its own id (id: ...)")  # fmt: skip
            raise self.error(f"{where}.id", f"id '{element_id}' is already used by {owner} (nodes, links and "
                             "groups share one namespace)", tip="give each element its own id")  # fmt: skip
        self.ids[element_id] = where

    # -- the document -------------------------------------------------------------------------------------------

    def document(self, document: object) -> AlarmTopology:
        if document is None:
            raise IngestError(self.path, "is empty", tip=f"{_TIP}; a topology needs at least nodes:")
        if not isinstance(document, dict):
            raise IngestError(self.path, f"is {_show(document)}, not a mapping with keys {', '.join(_TOP_KEYS)}",
                              tip=_TIP)  # fmt: skip
        top = self.mapping(document, "", _TOP_KEYS)
        name = self.text(top.get("name"), "name")
        node_list = self.items(top.get("nodes"), "nodes")
        if not node_list:
            raise self.error("nodes", "missing or empty (a topology needs nodes)", tip="list the nodes under nodes:")
        nodes = tuple(self.node(value, f"nodes[{i}]") for i, value in enumerate(node_list))
        node_ids = {node.id for node in nodes}
        links = tuple(
            self.link(value, f"links[{i}]", node_ids) for i, value in enumerate(self.items(top.get("links"), "links"))
        )
        link_ids = {link.id for link in links}
        groups = tuple(
            self.group(value, f"groups[{i}]", node_ids | link_ids)
            for i, value in enumerate(self.items(top.get("groups"), "groups"))
        )
        by_id = {node.id: node for node in nodes}
        sources = tuple(
            self.source(value, f"sources[{i}]", by_id)
            for i, value in enumerate(self.items(top.get("sources"), "sources"))
        )
        budgets, budget_places = self.budgets(top.get("budgets"), node_ids)
        group_ids = {group.id for group in groups}
        candidate_places: dict[str, str] = {}
        candidates: list[Candidate] = []
        for i, value in enumerate(self.items(top.get("candidates"), "candidates")):
            candidate = self.candidate(value, f"candidates[{i}]", node_ids, group_ids)
            if candidate.id in candidate_places:
                raise self.error(f"candidates[{i}].id", f"candidate '{candidate.id}' is already defined by "
                                 f"{candidate_places[candidate.id]}", tip="give each candidate its own id")  # fmt: skip
            candidate_places[candidate.id] = f"candidates[{i}]"
            candidates.append(candidate)
        try:
            return AlarmTopology(
                nodes, links, groups, sources, budgets, tuple(candidates), name=name or AlarmTopology.name
            )
        except ValueError as e:  # what the model checks and the reader did not: named as well as the message allows
            raise self.model_error(str(e), budget_places) from e

    def model_error(self, message: str, budget_places: Mapping[str, str]) -> IngestError:
        message = message.replace("escalate_after_s", "escalate_after")
        where = ""
        tip = _TIP
        budget = re.search(r"\bbudget (\S+)", message)
        if budget and budget.group(1) in budget_places:
            where = budget_places[budget.group(1)]
            if "escalate_after" in message:
                where += ".escalate_after"
                tip = "write escalate_after: SECONDS (how long the primary has to acknowledge), or drop escalation"
        else:
            quoted = re.search(r"'([^']*)'", message)
            if quoted:
                where = self.ids.get(quoted.group(1), "")
        return self.error(where, message, tip=tip)

    # -- elements -----------------------------------------------------------------------------------------------

    def node(self, value: object, where: str) -> Node:
        fields = self.mapping(value, where, _NODE_KEYS)
        node_id = self.ident(fields.get("id"), f"{where}.id")
        self.claim(node_id, where)
        kind = self.text(fields.get("kind"), f"{where}.kind", required=True, what="a kind such as ap").lower()
        return Node(
            id=node_id,
            kind=kind,
            name=self.text(fields.get("name"), f"{where}.name"),
            unit=self.text(fields.get("unit"), f"{where}.unit") or None,
            site=self.text(fields.get("site"), f"{where}.site") or None,
            processing=self.latency(fields.get("processing"), f"{where}.processing"),
            failover=self.failover(fields.get("failover"), f"{where}.failover"),
            failable=self.flag(fields.get("failable"), f"{where}.failable", kind not in GROUP_KINDS),
        )

    def link(self, value: object, where: str, ends: set[str]) -> Link:
        fields = self.mapping(value, where, _LINK_KEYS)
        a = self.end(fields.get("a"), f"{where}.a", ends)
        b = self.end(fields.get("b"), f"{where}.b", ends)
        if a == b:
            raise self.error(f"{where}.b", f"joins node '{a}' to itself", tip="a link joins two different nodes")
        if fields.get("id") is None:
            link_id = f"{a}--{b}"
            self.claim(link_id, where, default_link=True)
        else:
            link_id = self.ident(fields["id"], f"{where}.id")
            self.claim(link_id, where)
        capacity = fields.get("capacity_mbps")
        medium = fields.get("medium")
        return Link(
            id=link_id,
            a=a,
            b=b,
            latency=self.latency(fields.get("latency"), f"{where}.latency"),
            medium=Medium(self.choice(medium, f"{where}.medium", _MEDIA)) if medium is not None else Medium.WIRED,
            capacity_mbps=None if capacity is None else self.number(
                capacity, f"{where}.capacity_mbps", positive=True, what="Mbit/s"
            ),
            bidirectional=not self.flag(fields.get("directed"), f"{where}.directed", False),
        )  # fmt: skip

    def end(self, value: object, where: str, ends: set[str]) -> str:
        name = self.ident(value, where)
        if name not in ends:
            raise self.error(where, f"'{name}' is not a node id{_suggest(name, ends)}", tip="name a node under nodes:")
        return name

    def group(self, value: object, where: str, elements: set[str]) -> RiskGroup:
        fields = self.mapping(value, where, _GROUP_KEYS)
        group_id = self.ident(fields.get("id"), f"{where}.id")
        self.claim(group_id, where)
        names = self.items(fields.get("members"), f"{where}.members", scalar_ok=True)
        if not names:
            raise self.error(
                f"{where}.members", "missing or empty", tip="list the node and link ids that fail together"
            )
        members: set[str] = set()
        for i, member in enumerate(names):
            here = f"{where}.members[{i}]"
            element = self.ident(member, here)
            if element not in elements:
                raise self.error(here, f"'{element}' is not a node or link id{_suggest(element, elements)}",
                                 tip="a group lists ids from nodes: and links:")  # fmt: skip
            members.add(element)
        return RiskGroup(
            id=group_id,
            kind=self.text(fields.get("kind"), f"{where}.kind").lower() or "other",
            members=frozenset(members),
            description=self.text(fields.get("description"), f"{where}.description"),
        )

    def source(self, value: object, where: str, nodes: Mapping[str, Node]) -> AlarmSource:
        fields = self.mapping(value, where, _SOURCE_KEYS)
        node = nodes[self.end(fields.get("node"), f"{where}.node", set(nodes))]
        unit = self.text(fields.get("unit"), f"{where}.unit") or node.unit
        if not unit:
            raise self.error(f"{where}.unit", f"missing, and node '{node.id}' names no unit",
                             tip="write unit: ICU-East here or on the node")  # fmt: skip
        names = self.items(fields.get("alarms"), f"{where}.alarms", scalar_ok=True)
        if not names:
            raise self.error(f"{where}.alarms", "missing or empty", tip="list the alarm types, e.g. [arrhythmia]")
        alarms = [
            self.text(n, f"{where}.alarms[{i}]", required=True, what="an alarm type") for i, n in enumerate(names)
        ]
        devices = fields.get("devices")
        return AlarmSource(
            node=node.id,
            unit=unit,
            device_kind=self.text(fields.get("device_kind"), f"{where}.device_kind").lower() or "other",
            alarm_types=tuple(dict.fromkeys(alarms)),
            devices=1 if devices is None else self.whole(devices, f"{where}.devices", minimum=1),
        )

    def budgets(self, value: object, node_ids: set[str]) -> tuple[tuple[Budget, ...], dict[str, str]]:
        out: list[Budget] = []
        places: dict[str, str] = {}
        versions: dict[tuple[str, int], str] = {}
        for i, item in enumerate(self.items(value, "budgets")):
            where = f"budgets[{i}]"
            budget = self.budget(item, where, node_ids)
            earlier = versions.get((budget.key, budget.version))
            if earlier is not None:
                raise self.error(where, f"budget {budget.key} version {budget.version} is already given by {earlier}",
                                 tip="keep one, or give the newer one a higher version:")  # fmt: skip
            versions[(budget.key, budget.version)] = where
            places.setdefault(budget.key, where)
            out.append(budget)
        return tuple(out), places

    def budget(self, value: object, where: str, node_ids: set[str]) -> Budget:
        fields = self.mapping(value, where, _BUDGET_KEYS)
        unit = self.text(fields.get("unit"), f"{where}.unit", required=True, what='a unit or "*"')
        alarm = self.text(fields.get("alarm"), f"{where}.alarm", required=True, what='an alarm type or "*"')
        if fields.get("priority") is None:
            raise self.error(f"{where}.priority", "missing (it is required)", tip="write priority: high, medium or low")
        priority = Priority(self.choice(fields["priority"], f"{where}.priority", _PRIORITIES))
        if fields.get("max_delivery") is None:
            raise self.error(f"{where}.max_delivery", "missing (it is required)", tip="write max_delivery: SECONDS")
        max_delivery = self.number(fields["max_delivery"], f"{where}.max_delivery", positive=True)
        primary = self.recipients(fields.get("primary"), f"{where}.primary", node_ids)
        if not primary:
            raise self.error(f"{where}.primary", "missing or empty: the budget names no recipient",
                             tip="list the recipient node ids, e.g. primary: [icu-east-phones]")  # fmt: skip
        escalate_after = fields.get("escalate_after")
        given_heartbeat = fields.get("heartbeat")
        heartbeat = (
            {} if given_heartbeat is None else self.mapping(given_heartbeat, f"{where}.heartbeat", _HEARTBEAT_KEYS)
        )
        interval = heartbeat.get("interval")
        if heartbeat and interval is None:
            raise self.error(f"{where}.heartbeat.interval", "missing (it is required in heartbeat:)",
                             tip="write heartbeat: {interval: SECONDS, misses: 3}")  # fmt: skip
        misses = heartbeat.get("misses")
        version = fields.get("version")
        return Budget(
            unit=unit,
            alarm_type=alarm,
            priority=priority,
            max_delivery_s=max_delivery,
            primary=primary,
            escalation=self.recipients(fields.get("escalation"), f"{where}.escalation", node_ids),
            escalate_after_s=None if escalate_after is None else self.number(escalate_after, f"{where}.escalate_after"),
            confirmed=self.flag(fields.get("confirmed"), f"{where}.confirmed", False),
            heartbeat_interval_s=None if interval is None else self.number(
                interval, f"{where}.heartbeat.interval", positive=True
            ),
            heartbeat_misses=3 if misses is None else self.whole(misses, f"{where}.heartbeat.misses", minimum=1),
            approved_by=self.text(fields.get("approved_by"), f"{where}.approved_by") or None,
            approved_at=self.timestamp(fields.get("approved_at"), f"{where}.approved_at"),
            version=1 if version is None else self.whole(version, f"{where}.version", minimum=1),
            rationale=self.text(fields.get("rationale"), f"{where}.rationale"),
        )  # fmt: skip

    def recipients(self, value: object, where: str, node_ids: set[str]) -> tuple[str, ...]:
        names = self.items(value, where, scalar_ok=True)
        listed = isinstance(value, list)
        return tuple(
            dict.fromkeys(self.end(n, f"{where}[{i}]" if listed else where, node_ids) for i, n in enumerate(names))
        )

    def timestamp(self, value: object, where: str) -> datetime | None:
        tip = "write an ISO 8601 date and time such as 2026-11-02T09:00:00Z"
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.error(where, f"should be a date and time, not {_show(value)}", tip=tip) from None
        if not isinstance(value, datetime):  # a bare date: the time of approval matters for the audit trail
            shown = value.isoformat() if isinstance(value, date) else _show(value)
            raise self.error(where, f"should be a date and time, not {shown}", tip=tip)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def candidate(self, value: object, where: str, node_ids: set[str], group_ids: set[str]) -> Candidate:
        fields = self.mapping(value, where, _CANDIDATE_KEYS)
        candidate_id = self.ident(fields.get("id"), f"{where}.id")
        cost = fields.get("cost")
        nodes = tuple(
            self.node(item, f"{where}.nodes[{i}]")
            for i, item in enumerate(self.items(fields.get("nodes"), f"{where}.nodes"))
        )
        ends = node_ids | {node.id for node in nodes}
        links = tuple(
            self.link(item, f"{where}.links[{i}]", ends)
            for i, item in enumerate(self.items(fields.get("links"), f"{where}.links"))
        )
        if not nodes and not links:
            raise self.error(where, "adds no nodes or links", tip="list what it adds under nodes: and links:")
        new = {node.id for node in nodes} | {link.id for link in links}
        return Candidate(
            id=candidate_id,
            description=self.text(fields.get("description"), f"{where}.description"),
            nodes=nodes,
            links=links,
            groups=self.joins(fields.get("groups"), f"{where}.groups", group_ids, new),
            cost=1.0 if cost is None else self.number(cost, f"{where}.cost", positive=True, what="cost units"),
        )

    def joins(self, value: object, where: str, group_ids: set[str], new: set[str]) -> dict[str, frozenset[str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(where, f"should map existing group ids to new element ids, not {_show(value)}")
        self.tick(len(value))
        self.record(value, where)
        out: dict[str, frozenset[str]] = {}
        for key, members in value.items():
            here = f"{where}.{_clip(str(key))}"
            group_id = self.ident(key, here)
            if group_id not in group_ids:
                raise self.error(here, f"'{group_id}' is not a group id{_suggest(group_id, group_ids)}",
                                 tip="a candidate can only join groups listed under groups:")  # fmt: skip
            names = self.items(members, here, scalar_ok=True)
            if not names:
                raise self.error(here, "lists no new elements", tip="list ids of the candidate's nodes or links")
            joined: set[str] = set()
            for i, member in enumerate(names):
                element = self.ident(member, f"{here}[{i}]")
                if element not in new:
                    raise self.error(f"{here}[{i}]", f"'{element}' is not a node or link this candidate adds",
                                     tip="existing elements are already in their groups")  # fmt: skip
                joined.add(element)
            out[group_id] = frozenset(joined)
        return out

    # -- delays -------------------------------------------------------------------------------------------------

    def latency(self, value: object, where: str) -> Latency:
        if value is None:
            return Latency()
        if not isinstance(value, dict):
            return Latency.fixed(self.number(value, where, tip=_LATENCY_TIP))
        fields = self.mapping(value, where, _RANGE_KEYS + _PERCENTILE_KEYS)
        given = {key: self.number(v, f"{where}.{key}") for key, v in fields.items() if v is not None}
        if not given:
            raise self.error(where, "gives no delay", tip=_LATENCY_TIP)
        if given.keys() & set(_RANGE_KEYS) and given.keys() & set(_PERCENTILE_KEYS):
            raise self.error(where, "mixes min/typical/max with p50/p95/p99", tip="use one form or the other")
        if given.keys() & set(_PERCENTILE_KEYS):
            return self.percentiles(given, where)
        low = given.get("min", 0.0)
        typical = given.get("typical")
        high = given.get("max")
        if high is not None:
            typical = high if typical is None else typical
        elif typical is not None:
            high = typical
        else:
            raise self.error(where, "gives only min (verification needs the upper bound)", tip="add max: SECONDS")
        if not low <= typical <= high:
            raise self.error(where, f"must satisfy min <= typical <= max, got min={low:g}, typical={typical:g}, "
                             f"max={high:g}", tip="put the bounds in order")  # fmt: skip
        return Latency(low, typical, high)

    def percentiles(self, given: Mapping[str, float], where: str) -> Latency:
        high = given.get("p99", given.get("p95"))
        if high is None:
            raise self.error(where, "gives only p50 (verification needs the upper bound)", tip="add p99: SECONDS")
        ordered = [(key, given[key]) for key in _PERCENTILE_KEYS if key in given]
        for (key_a, a), (key_b, b) in zip(ordered, ordered[1:], strict=False):
            if a > b:
                raise self.error(where, f"must satisfy {key_a} <= {key_b}, got {key_a}={a:g}, {key_b}={b:g}",
                                 tip="put the percentiles in order")  # fmt: skip
        return Latency(0.0, given.get("p50", high), high)

    def failover(self, value: object, where: str) -> Failover:
        if value is None:
            return Failover()
        fields = self.mapping(value, where, _FAILOVER_KEYS)
        detection, retry = fields.get("detection"), fields.get("retry")
        return Failover(
            detection_s=0.0 if detection is None else self.number(detection, f"{where}.detection"),
            retry_s=0.0 if retry is None else self.number(retry, f"{where}.retry"),
        )


def _as_number(text: str) -> float | None:
    """The finite number ``text`` spells (YAML 1.1 reads ``1e-3`` as text), else ``None``."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _clip(text: str) -> str:
    return text if len(text) <= 60 else text[:60] + "…"


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _show(value: object) -> str:
    """A short description of a YAML value for an error message: never the whole of a (possibly aliased) tree."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "a number" if value.bit_length() > 64 else f"the number {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"text {_clip(value)!r}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return type(value).__name__
