"""``iptables-save`` / ``ip6tables-save`` output -> the ordered rules of the FORWARD chain.

Only the ``*filter`` table's FORWARD chain (and the user chains it jumps to) describes traffic *between* zones
through the firewall; INPUT/OUTPUT protect the firewall itself and the nat/mangle/raw tables decide no
verdicts, so they are read for syntax only.  :func:`read_iptables` returns a :class:`FirewallRules`: the rules in
evaluation order, with jumps to user chains inlined (their conditions intersected with the jump's, loops and
runaway expansion refused), and the FORWARD policy (``:FORWARD DROP``) as the default action.

What the model (:class:`~wardwatch.domain.netmodel.Rule`) can say is addresses, protocol and destination ports.
Everything else is handled by one principle — *when unsure, let the packet through*, because over-reporting
reachability is the safe error for a risk tool:

- ``-m state/conntrack`` rules that match only ESTABLISHED/RELATED (or INVALID) traffic are skipped: they
  open no new flows;
- a condition the model cannot express (``--sport``, ``--icmp-type``, ``-m time``, ``! -p``...) is dropped from
  an ACCEPT rule (kept broader, the condition named in its description) and makes a DROP/REJECT rule skipped;
- rules for other protocols (gre, esp, sctp...) are skipped: no tcp/udp/icmp packet can match them;
- LOG and other non-deciding targets are skipped; a conditional RETURN is ignored (later rules of that chain
  then also apply to the returned packets); ``-g`` (goto) is read as a jump.

Each skip or approximation is listed in :attr:`FirewallRules.notes`.  A line that is not valid
``iptables-save`` syntax raises :class:`~wardwatch.ingest.errors.IngestError` with its line number.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import netaddr

from wardwatch.domain.netmodel import Action, PortRange, Rule
from wardwatch.ingest._bounded import MIB, read_capped
from wardwatch.ingest.errors import IngestError

__all__ = ["FirewallRules", "read_iptables"]

AddressSet = Any
"""A :class:`netaddr.IPSet` (untyped library)."""
PortSet = tuple[tuple[int, int], ...]
"""Sorted, disjoint inclusive port ranges."""

MAX_VISITS: Final = 100_000
"""Most rule visits while inlining user chains (a diamond of jumps grows exponentially); far above real firewalls."""
MAX_DEPTH: Final = 64
"""Deepest nesting of jumps to user chains."""
MAX_BYTES: Final = 16 * MIB

_TIP = "give the output of `iptables-save` (or `ip6tables-save`) unchanged"
_VERDICTS: Final[dict[str, Action]] = {"ACCEPT": "allow", "DROP": "deny", "REJECT": "deny", "TARPIT": "deny"}
_NON_DECIDING: Final = frozenset({
    "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CLASSIFY", "DSCP", "TOS", "TCPMSS", "SET", "AUDIT", "CHECKSUM",
    "TRACE", "CT", "NOTRACK", "SECMARK", "CONNSECMARK", "TEE", "IDLETIMER", "LED", "RATEEST", "NFQUEUE", "QUEUE",
})  # fmt: skip
_PROTOCOLS: Final = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
                     "icmpv6": "icmp", "ipv6-icmp": "icmp", "58": "icmp", "all": "any", "0": "any"}  # fmt: skip
_NEW_FLOW_STATES: Final = frozenset({"NEW", "UNTRACKED", "SNAT", "DNAT"})
_VALUE_OPTIONS: Final = {
    "-s": "--source", "--src": "--source", "-d": "--destination", "--dst": "--destination", "-p": "--protocol",
    "-i": "--in-interface", "-o": "--out-interface", "-m": "--match", "-j": "--jump", "-g": "--goto",
    "--destination-port": "--dport", "--source-port": "--sport", "--destination-ports": "--dports",
    "--source-ports": "--sports", "--ctstate": "--state",
}  # fmt: skip
_NEEDS_VALUE: Final = frozenset({
    "--source", "--destination", "--protocol", "--in-interface", "--out-interface", "--match", "--jump", "--goto",
    "--dport", "--sport", "--dports", "--sports", "--ports", "--state", "--src-range", "--dst-range", "--comment",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class FirewallRules:
    """The FORWARD rules of one ``iptables-save`` file, in evaluation order, and the chain's policy."""

    rules: tuple[Rule, ...]
    default_action: Action | None
    """The FORWARD chain policy (ACCEPT -> allow, DROP -> deny); ``None`` when the file has no filter FORWARD."""
    origin: str
    """The file the rules came from."""
    notes: tuple[str, ...] = ()
    """Rules skipped or approximated, one line each (``core-fw.rules:31: ...``)."""


@dataclass(slots=True)
class _Match:
    """The conditions a packet must meet: ``None`` sets mean any."""

    src: AddressSet | None = None
    dst: AddressSet | None = None
    protocol: str = "any"
    """tcp, udp, icmp, any, or ``other:NAME`` (matches no tcp/udp/icmp packet)."""
    ports: PortSet | None = None
    unmodelled: tuple[str, ...] = ()
    """Conditions the model cannot express, dropped (so the match is broader than the real rule)."""


@dataclass(slots=True)
class _Entry:
    line: int
    chain: str
    match: _Match
    target: str | None
    goto: bool = False
    comment: str = ""
    interfaces: list[str] = field(default_factory=list)
    skip: str | None = None
    """Why this rule never opens a new flow (ESTABLISHED/RELATED only), when it does not."""


def read_iptables(path: str | Path) -> FirewallRules:
    """Read ``iptables-save`` output; see the module docstring for what is kept, skipped and approximated."""
    path = Path(path)
    reader = _Reader(path)
    for number, line in enumerate(read_config_lines(path, limit=MAX_BYTES, what="iptables-save output"), start=1):
        reader.line(number, line.strip())
    reader.finish()
    return FirewallRules(tuple(reader.rules), reader.default, path.name, tuple(dict.fromkeys(reader.notes)))


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.table: str | None = None
        self.table_line = 0
        self.filtered = False
        """A *filter table was read to its COMMIT."""
        self.policies: dict[str, str] = {}
        self.chains: dict[str, list[_Entry]] = {}
        self.rules: list[Rule] = []
        self.default: Action | None = None
        self.notes: list[str] = []
        self.visits = 0

    def error(self, line: int, message: str, tip: str = _TIP) -> IngestError:
        return IngestError(str(self.path), message, row=line, tip=tip)

    def line(self, number: int, text: str) -> None:
        if not text or text.startswith("#"):
            return
        if text.startswith("["):  # `iptables-save -c` counters: [packets:bytes] -A ...
            _, _, text = text.partition("]")
            text = text.strip()
        if text.startswith("*"):
            if self.table is not None:
                raise self.error(number, f"table *{text[1:]} starts before COMMIT of *{self.table} (truncated?)")
            self.table, self.table_line = text[1:].strip(), number
            self.policies, self.chains = {}, {}
        elif self.table is None:
            raise self.error(number, f"'{_short(text)}' is outside a table (no *filter line before it)")
        elif text == "COMMIT":
            if self.table == "filter":
                self.resolve()
                self.filtered = True
            self.table = None
        elif text.startswith(":"):
            parts = text[1:].split()
            if len(parts) < 2:
                raise self.error(number, f"chain line '{_short(text)}' has no policy")
            self.policies[parts[0]] = parts[1]
            self.chains[parts[0]] = []
        elif text.startswith(("-A ", "--append ")):
            self.append(number, text)
        else:
            raise self.error(number, f"'{_short(text)}' is not iptables-save syntax")

    def finish(self) -> None:
        if self.table is not None:
            raise self.error(self.table_line, f"table *{self.table} has no COMMIT (file truncated?)")
        if not self.filtered:  # nat/mangle only, or cut before *filter: nothing about forwarding at all
            raise IngestError(str(self.path), "has no *filter table, so no FORWARD rules (file truncated?)",
                              tip="give the firewall's whole `iptables-save` output")  # fmt: skip

    def append(self, number: int, text: str) -> None:
        try:
            tokens = shlex.split(text)
        except ValueError as e:
            raise self.error(number, f"cannot be split into words ({e}; truncated line?)") from e
        if len(tokens) < 2:
            raise self.error(number, "-A has no chain name (truncated line?)")
        chain = tokens[1]
        if chain not in self.chains:
            raise self.error(number, f"chain {chain} is not declared (no ':{chain}' line before it)")
        if self.table == "filter":
            self.chains[chain].append(self.entry(number, chain, tokens[2:]))

    def entry(self, number: int, chain: str, tokens: list[str]) -> _Entry:
        entry = _Entry(number, chain, _Match(), None)
        unmodelled: list[str] = []
        negate = False
        i = 0
        while i < len(tokens):
            token = tokens[i]
            i += 1
            if token == "!":  # noqa: S105  # iptables' negation, not a password
                negate = True
                continue
            if not token.startswith("-"):
                raise self.error(number, f"unexpected '{token}' (truncated or edited line?)")
            option = _VALUE_OPTIONS.get(token, token)
            if option in _NEEDS_VALUE:
                if i >= len(tokens):
                    raise self.error(number, f"{token} needs a value (truncated line?)")
                value = tokens[i]
                i += 1
                self.option(entry, option, value, negate, unmodelled)
            elif option == "--syn":
                pass  # only connection openings: exactly the new flows the model is about
            elif option in ("-c", "--set-counters"):
                i += 2
            elif token.startswith("--"):
                values = []
                while i < len(tokens) and not tokens[i].startswith("-") and tokens[i] != "!":
                    values.append(tokens[i])
                    i += 1
                if entry.target is None:
                    unmodelled.append(" ".join(["!" if negate else "", token, *values]).strip())
            elif token in ("-f", "--fragment"):
                unmodelled.append(f"{'! ' if negate else ''}-f")
            else:
                raise self.error(number, f"unknown option {token}")
            negate = False
        entry.match.unmodelled = tuple(unmodelled)
        return entry

    def option(self, entry: _Entry, option: str, value: str, negate: bool, unmodelled: list[str]) -> None:
        line, match = entry.line, entry.match
        bang = "! " if negate else ""
        if option in ("--source", "--destination", "--src-range", "--dst-range"):
            try:
                addresses = address_set(value.split(","), ranges=option.endswith("range"), negate=negate)
            except ValueError as e:
                raise self.error(line, f"{option} {value}: {e}") from e
            if option in ("--source", "--src-range"):
                match.src = addresses
            else:
                match.dst = addresses
        elif option == "--protocol":
            protocol = _PROTOCOLS.get(value.lower())
            if negate:
                unmodelled.append(f"! -p {value}")
            else:
                match.protocol = protocol or f"other:{value}"
        elif option in ("--dport", "--dports"):
            ports = self.ports(line, value, option)
            match.ports = complement_ports(ports) if negate else ports
        elif option in ("--sport", "--sports", "--ports"):
            unmodelled.append(f"{bang}{option} {value}")
        elif option == "--state":
            states = {s.strip().upper() for s in value.split(",")}
            if negate:
                unmodelled.append(f"! --state {value}")
            elif not states & _NEW_FLOW_STATES:
                entry.skip = f"matches only {value} traffic, which opens no new flows"
        elif option in ("--in-interface", "--out-interface"):
            entry.interfaces.append(f"{option[2:].split('-')[0]} {bang}{value}")
        elif option == "--comment":
            entry.comment = value
        elif option in ("--jump", "--goto"):
            entry.target, entry.goto = value, option == "--goto"

    def ports(self, line: int, value: str, option: str) -> PortSet:
        out: list[tuple[int, int]] = []
        for part in value.split(","):
            low, colon, high = part.strip().partition(":")
            try:
                first = int(low) if low else 0
                last = (int(high) if high else 65535) if colon else first
                out.append((PortRange(first, last).low, last))  # PortRange checks 0 <= first <= last <= 65535
            except ValueError as e:
                raise self.error(line, f"{option} {value}: '{part}' is not a port or port range N:M") from e
        return normalise_ports(out)

    def resolve(self) -> None:
        known = {*self.chains, *_VERDICTS, *_NON_DECIDING, "RETURN"}
        for entries in self.chains.values():
            for entry in entries:
                if entry.target is not None and entry.target not in known:
                    raise self.error(entry.line, f"unknown target {entry.target} (not a chain of this table)")
        if "FORWARD" not in self.chains:
            return
        if self.default is None:
            self.default = "deny" if self.policies["FORWARD"] in ("DROP", "REJECT") else "allow"
        self.expand("FORWARD", _Match(), ["FORWARD"], [])

    def expand(self, chain: str, condition: _Match, stack: list[str], via: list[str]) -> None:
        name = self.path.name
        for entry in self.chains[chain]:
            self.visits += 1
            if self.visits > MAX_VISITS:
                raise self.error(entry.line, f"expanding jumps to user chains visits more than {MAX_VISITS:,} rules")
            where = f"{name}:{entry.line}"
            if entry.skip is not None:
                self.notes.append(f"{where}: skipped, it {entry.skip}")
                continue
            match = _intersect(condition, entry.match)
            target = entry.target
            if match is None:
                continue
            if target is None or target in _NON_DECIDING:
                self.notes.append(f"{where}: skipped, target {target or '(none)'} decides nothing")
            elif target == "RETURN":
                if _unconditional(entry.match):
                    return
                self.notes.append(f"{where}: conditional RETURN ignored; later rules of {chain} also apply")
            elif target in _VERDICTS:
                self.emit(entry, match, _VERDICTS[target], via)
            else:
                if target in stack:
                    loop = " -> ".join([*stack[stack.index(target) :], target])
                    raise self.error(entry.line, f"chain loop {loop}", tip="iptables refuses loops; fix the jumps")
                if len(stack) >= MAX_DEPTH:
                    raise self.error(entry.line, f"jumps nest more than {MAX_DEPTH} chains deep")
                if entry.goto:
                    self.notes.append(f"{where}: -g {target} read as a jump (-j)")
                self.expand(target, match, [*stack, target], [*via, f"{chain} line {entry.line}"])

    def emit(self, entry: _Entry, match: _Match, action: Action, via: list[str]) -> None:
        where = f"{self.path.name}:{entry.line}"
        if match.protocol.startswith("other:"):
            self.notes.append(f"{where}: skipped, protocol {match.protocol[6:]} is not tcp, udp or icmp")
            return
        if match.unmodelled and action == "deny":
            self.notes.append(f"{where}: deny skipped, cannot model {', '.join(match.unmodelled)}")
            return
        parts = [entry.comment] if entry.comment else []
        parts += entry.interfaces
        if via:
            parts.append("via " + ", ".join(via))
        if match.unmodelled:
            parts.append(f"broader than the real rule: ignores {', '.join(match.unmodelled)}")
        self.rules.append(
            Rule(
                action=action,
                source=refs(match.src),
                destination=refs(match.dst),
                protocol=match.protocol,  # type: ignore[arg-type]  # tcp/udp/icmp/any after the check above
                ports=tuple(PortRange(low, high) for low, high in match.ports or ()),
                order=len(self.rules),
                origin=where,
                name=entry.chain,
                description="; ".join(parts),
            )
        )


def _intersect(a: _Match, b: _Match) -> _Match | None:
    """Packets matching both (``None`` when none can)."""
    if a.protocol == "any" or a.protocol == b.protocol:
        protocol = b.protocol
    elif b.protocol == "any":
        protocol = a.protocol
    else:
        return None
    src = b.src if a.src is None else (a.src if b.src is None else a.src & b.src)
    dst = b.dst if a.dst is None else (a.dst if b.dst is None else a.dst & b.dst)
    ports = b.ports if a.ports is None else (a.ports if b.ports is None else intersect_ports(a.ports, b.ports))
    if (src is not None and not src) or (dst is not None and not dst) or ports == ():
        return None
    return _Match(src, dst, protocol, ports, a.unmodelled + b.unmodelled)


def _unconditional(match: _Match) -> bool:
    return match == _Match()


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


# Helpers shared with the Cisco reader (cisco_acl.py): reading a text config, address sets, port sets.


def read_config_lines(path: Path, *, limit: int, what: str) -> list[str]:
    """The lines of a text configuration file of at most ``limit`` bytes; binary or non-UTF-8 -> IngestError."""
    raw = read_capped(path, limit=limit, what=what)
    tip = f"export {what} as plain text"
    if b"\x00" in raw:
        raise IngestError(str(path), f"is not a text file (it contains NUL bytes), so not {what}", tip=tip)
    try:
        return raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise IngestError(str(path), f"is not UTF-8 text (byte {e.start}), so not {what}", tip=tip) from e


def address_set(items: Iterable[str], *, ranges: bool = False, negate: bool = False) -> AddressSet:
    """The addresses ``items`` name (``10.1.0.0/16``, ``10.1.0.0/255.255.0.0``, ``10.1.1.5``, or with ``ranges``
    ``10.1.1.5-10.1.1.20``), complemented within the IP version's space when ``negate``; ``ValueError`` if bad."""
    result = netaddr.IPSet()
    version = 4
    for item in items:
        item = item.strip()
        if ranges:
            first, dash, last = item.partition("-")
            if not dash:
                raise ValueError(f"'{item}' is not a range FIRST-LAST")
            low, high = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
            if low.version != high.version or int(low) > int(high):
                raise ValueError(f"'{item}' is not a range from a lower to a higher address")
            result.add(netaddr.IPRange(str(low), str(high)))
            version = low.version
        else:
            network = ipaddress.ip_network(item, strict=False)
            result.add(netaddr.IPNetwork(str(network)))
            version = network.version
    if negate:
        result = netaddr.IPSet(["0.0.0.0/0" if version == 4 else "::/0"]) - result
    return result


def refs(addresses: AddressSet | None) -> tuple[str, ...]:
    """Network references for a rule side: ``("any",)`` for ``None``, else CIDRs (single hosts as addresses)."""
    if addresses is None:
        return ("any",)
    out: list[str] = []
    for cidr in addresses.iter_cidrs():
        full = 32 if cidr.version == 4 else 128
        out.append(str(cidr.ip) if cidr.prefixlen == full else str(cidr))
    return tuple(out)


def normalise_ports(ranges: Iterable[tuple[int, int]]) -> PortSet:
    """Sorted, merged ranges."""
    out: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)


def complement_ports(ports: PortSet) -> PortSet:
    """Ports 0-65535 not in ``ports``."""
    out: list[tuple[int, int]] = []
    nxt = 0
    for low, high in normalise_ports(ports):
        if low > nxt:
            out.append((nxt, low - 1))
        nxt = high + 1
    if nxt <= 65535:
        out.append((nxt, 65535))
    return tuple(out)


def intersect_ports(a: PortSet, b: PortSet) -> PortSet:
    """Ports in both."""
    out = [(max(l1, l2), min(h1, h2)) for l1, h1 in a for l2, h2 in b if max(l1, l2) <= min(h1, h2)]
    return normalise_ports(out)
