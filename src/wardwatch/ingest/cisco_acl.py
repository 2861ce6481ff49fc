"""Cisco IOS and ASA access lists -> ordered :class:`~wardwatch.domain.netmodel.Rule` values.

From a running configuration, only ACL and object lines are read: IOS named/numbered/IPv6 ACLs with wildcards,
sequence numbers and remarks; ASA ``access-list NAME extended`` with netmasks, ``object network|service`` and
``object-group network|service|protocol``; ports by number or Cisco keyword (docs/network.md, "Formats", lists
the forms).  Each ACL's entries come out in order (IOS sequence numbers sorted), ACLs as they first appear, with
the ACL name in :attr:`Rule.name`, the line in :attr:`Rule.origin` and the remark in force in the description.
Which interface and direction an ACL is bound to is not modelled.

As for iptables the rule is *when unsure, let the packet through*: ``established`` and ``inactive`` entries and
other protocols are skipped; a condition the model cannot express (source ports, ``time-range``, ICMP types,
TCP flags, FQDN objects, ``interface``) is dropped from a permit and makes a deny skipped; the notes say so.
A malformed ACL or object line, an undefined or looping object group, or a non-contiguous wildcard raises
:class:`~wardwatch.ingest.errors.IngestError` with its line number.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import netaddr

from wardwatch.domain.netmodel import Action, PortRange, Rule
from wardwatch.ingest._bounded import MIB
from wardwatch.ingest.errors import IngestError
from wardwatch.ingest.iptables import (
    AddressSet,
    PortSet,
    address_set,
    complement_ports,
    normalise_ports,
    read_config_lines,
    refs,
)

__all__ = ["CISCO_PORTS", "CiscoRules", "read_cisco_acls"]

MAX_BYTES: Final = 16 * MIB
_MAX_DEPTH: Final = 64
_MAX_SERVICES: Final = 10_000
_TIP = "check the line against `show running-config`"

CISCO_PORTS: Final[dict[str, int]] = {
    "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "chargen": 19, "citrix-ica": 1494, "cifs": 3020,
    "cmd": 514, "ctiqbe": 2748, "daytime": 13, "discard": 9, "dnsix": 195, "domain": 53, "echo": 7, "exec": 512,
    "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "h323": 1720, "hostname": 101, "http": 80,
    "https": 443, "ident": 113, "imap4": 143, "irc": 194, "isakmp": 500, "kerberos": 750, "klogin": 543,
    "kshell": 544, "ldap": 389, "ldaps": 636, "login": 513, "lotusnotes": 1352, "lpd": 515,
    "microsoft-ds": 445, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138, "netbios-ns": 137,
    "netbios-ss": 139, "netbios-ssn": 139, "nfs": 2049, "nntp": 119, "non500-isakmp": 4500, "ntp": 123,
    "pcanywhere-data": 5631, "pim-auto-rp": 496, "pop2": 109, "pop3": 110, "pptp": 1723, "rip": 520,
    "rsh": 514, "rtsp": 554, "sip": 5060, "smtp": 25, "snmp": 161, "snmptrap": 162, "sqlnet": 1521, "ssh": 22,
    "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "telnet": 23, "tftp": 69, "time": 37, "uucp": 540,
    "who": 513, "whois": 43, "www": 80, "xdmcp": 177,
}  # fmt: skip
"""IOS and ASA port keywords (IOS has none for 445; ``microsoft-ds`` is accepted anyway)."""

_PROTOCOLS: Final = {"ip": "any", "tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmp6": "icmp", "ipv6": "any",
                     "6": "tcp", "17": "udp", "1": "icmp", "58": "icmp", "0": "any"}  # fmt: skip
_OTHER_PROTOCOLS: Final = frozenset(
    {"ah", "ahp", "eigrp", "esp", "gre", "igmp", "igrp", "ipinip", "ipsec", "l2tp", "nos", "ospf", "pcp", "pim",
     "pptp", "sctp", "snp"}
)  # fmt: skip
_PORT_OPS: Final = ("eq", "neq", "lt", "gt", "range")
_LOG_WORDS: Final = frozenset(
    {"emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging",
     "disable", "default"}
)  # fmt: skip
_UNMODELLED_1: Final = frozenset({"precedence", "dscp", "tos", "time-range", "option", "reflect", "timeout"})
_FLAGS: Final = frozenset({"ack", "fin", "psh", "rst", "syn", "urg", "fragments", "match-any", "match-all"})

Service = tuple[str, PortSet | None]
"""(tcp/udp/icmp/any or other:NAME, destination ports or ``None`` for any)."""


@dataclass(frozen=True, slots=True)
class CiscoRules:
    """The ACL entries of one Cisco configuration, in order, and what was skipped or approximated."""

    rules: tuple[Rule, ...]
    origin: str
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class _Object:
    kind: str
    """network, service (typed port group or untyped service group), protocol."""
    line: int
    protocol: str | None = None
    """A typed service group's protocol (tcp, udp, tcp-udp)."""
    body: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class _Entry:
    acl: str
    line: int
    words: list[str]
    asa: bool
    standard: bool
    seq: int | None
    remark: str


def read_cisco_acls(path: str | Path) -> CiscoRules:
    """Read every ACL of an IOS or ASA configuration (see the module docstring)."""
    path = Path(path)
    reader = _Reader(path)
    reader.scan(read_config_lines(path, limit=MAX_BYTES, what="a Cisco configuration"))
    return reader.build()


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.objects: dict[str, _Object] = {}
        self.acls: dict[str, list[_Entry]] = {}
        self.remarks: dict[str, str] = {}
        self.notes: list[str] = []
        self.networks: dict[str, AddressSet | None] = {}
        self.services: dict[str, list[Service]] = {}

    def error(self, line: int, message: str, tip: str = _TIP) -> IngestError:
        return IngestError(str(self.path), message, row=line, tip=tip)

    # -- pass 1: find ACL entries and object definitions --------------------------------------------------

    def scan(self, lines: list[str]) -> None:
        block: _Object | tuple[str, bool, bool] | None = None  # an object, or (ACL name, asa, standard)
        for number, raw in enumerate(lines, start=1):
            words = raw.split()
            if not words or words[0] in ("!", ":"):
                block = None if raw[:1] in ("!", ":") else block
                continue
            if raw[:1].isspace():
                if isinstance(block, _Object):
                    if words[0] != "description":
                        block.body.append((number, words))
                elif block is not None:
                    self.entry(block[0], number, words, asa=block[1], standard=block[2])
                continue
            block = self.top(number, words)

    def top(self, number: int, words: list[str]) -> _Object | tuple[str, bool, bool] | None:
        head = words[0]
        if head in ("ip", "ipv6") and words[1:2] == ["access-list"]:
            rest = words[2:]
            if head == "ip" and rest[:1] in (["extended"], ["standard"]):
                if len(rest) != 2:
                    raise self.error(number, f"ACL header '{' '.join(words)}' should name one ACL")
                return rest[1], False, rest[0] == "standard"
            if head == "ipv6" and len(rest) == 1:
                return rest[0], False, False
            return None  # ip access-list resequence/logging...
        if head == "access-list" and len(words) >= 3:
            name, kind = words[1], words[2]
            if kind == "line" and len(words) >= 5:  # ASA: access-list NAME line N extended ...
                kind, words = words[4], [*words[:2], *words[4:]]
            if kind in ("extended", "standard"):
                self.entry(name, number, words[3:], asa=True, standard=kind == "standard")
            elif kind == "remark":
                self.remarks[name] = " ".join(words[3:])
            elif kind in ("permit", "deny", "dynamic") and name.isdigit():
                number_ = int(name)
                self.entry(name, number, words[2:], asa=False, standard=number_ < 100 or 1300 <= number_ < 2000)
            elif kind in ("webtype", "ethertype", "rename", "alert-interval", "deny-flow-max"):
                pass
            else:
                raise self.error(number, f"access-list {name}: unexpected '{kind}'")
            return None
        if head in ("object", "object-group") and len(words) >= 3:
            kind, name = words[1], words[2]
            if kind not in ("network", "service", "protocol"):
                return None
            if name in self.objects:
                raise self.error(number, f"object {name} is defined twice (first on line {self.objects[name].line})")
            typed = words[3] if head == "object-group" and kind == "service" and len(words) > 3 else None
            if typed is not None and typed not in ("tcp", "udp", "tcp-udp"):
                raise self.error(number, f"object-group service {name}: '{typed}' is not tcp, udp or tcp-udp")
            obj = _Object(kind, number, typed)
            self.objects[name] = obj
            return obj
        return None

    def entry(self, acl: str, number: int, words: list[str], *, asa: bool, standard: bool) -> None:
        seq = None
        if words[:1] == ["sequence"] and len(words) > 1:
            words = words[1:]
        if words and words[0].isdigit():
            seq, words = int(words[0]), words[1:]
        if not words:
            raise self.error(number, f"ACL {acl}: entry is empty (truncated line?)")
        if words[0] in ("exit", "statistics"):
            return
        if words[0] == "remark":
            self.remarks[acl] = " ".join(words[1:])
            return
        if words[0] in ("evaluate", "dynamic"):
            self.notes.append(f"{self.path.name}:{number}: skipped {words[0]} entry of ACL {acl}")
            return
        if words[0] not in ("permit", "deny"):
            raise self.error(number, f"ACL {acl}: expected permit, deny or remark, not '{words[0]}'")
        remark = self.remarks.get(acl, "")
        self.acls.setdefault(acl, []).append(_Entry(acl, number, words, asa, standard, seq, remark))

    # -- pass 2: turn entries into rules ------------------------------------------------------------------

    def build(self) -> CiscoRules:
        rules: list[Rule] = []
        for entries in self.acls.values():
            if all(e.seq is not None for e in entries):
                entries = sorted(entries, key=lambda e: e.seq or 0)
            for entry in entries:
                for rule in self.rules(entry):
                    rules.append(replace(rule, order=len(rules)))
        return CiscoRules(tuple(rules), self.path.name, tuple(self.notes))

    def rules(self, entry: _Entry) -> list[Rule]:
        where = f"{self.path.name}:{entry.line}"
        cursor = _Cursor(self, entry)
        action: Action = "allow" if cursor.take() == "permit" else "deny"
        if entry.standard:
            if entry.asa:
                self.notes.append(f"{where}: skipped ASA standard ACL {entry.acl} (it selects routes, not traffic)")
                return []
            services: list[Service] = [("any", None)]
            src, dst = cursor.address(), None
        else:
            services = cursor.protocol()
            src = cursor.address()
            if cursor.port_ops_follow(source=True):
                cursor.ports("source")
            dst = cursor.address()
            if cursor.port_ops_follow(source=False):
                dst_ports = cursor.ports("destination")
                services = [(p, dst_ports) for p, _ in services]
        skip = cursor.trailing()
        if skip is not None:
            self.notes.append(f"{where}: skipped, {skip}")
            return []
        if cursor.unmodelled and action == "deny":
            self.notes.append(f"{where}: deny skipped, cannot model {', '.join(cursor.unmodelled)}")
            return []
        parts = [entry.remark] if entry.remark else []
        if cursor.unmodelled:
            parts.append(f"broader than the real entry: ignores {', '.join(cursor.unmodelled)}")
        out: list[Rule] = []
        for protocol, ports in services:
            if protocol.startswith("other:"):
                self.notes.append(f"{where}: skipped, protocol {protocol[6:]} is not tcp, udp or icmp")
                continue
            out.append(
                Rule(
                    action=action,
                    source=refs(src),
                    destination=refs(dst),
                    protocol=protocol,  # type: ignore[arg-type]  # tcp/udp/icmp/any once other: is skipped
                    ports=tuple(PortRange(low, high) for low, high in ports or ()),
                    origin=where,
                    name=entry.acl,
                    description="; ".join(parts),
                )
            )
        return out

    # -- objects ------------------------------------------------------------------------------------------

    def enter(self, name: str, kind: str, line: int, stack: tuple[str, ...]) -> _Object:
        """The object ``name`` referenced on ``line``, refusing undefined, mistyped, looping or too deep ones."""
        obj = self.objects.get(name)
        if obj is None:
            raise self.error(line, f"object {name} is not defined", tip="include its object/object-group lines")
        if obj.kind != kind:
            raise self.error(line, f"object {name} is a {obj.kind} object, not a {kind} one")
        if name in stack:
            raise self.error(obj.line, f"object-group loop {' -> '.join([*stack[stack.index(name) :], name])}")
        if len(stack) >= _MAX_DEPTH:
            raise self.error(obj.line, f"object groups nest more than {_MAX_DEPTH} deep")
        return obj

    def network(self, name: str, line: int, stack: tuple[str, ...] = ()) -> AddressSet | None:
        """The addresses of a network object or group; ``None`` when it holds something unmodellable (fqdn)."""
        if name in self.networks:
            return self.networks[name]
        obj = self.enter(name, "network", line, stack)
        result: AddressSet | None = netaddr.IPSet()
        for number, words in obj.body:
            if words[0] == "network-object":
                words = words[1:]
            if words[:1] in (["group-object"], ["object"]) and len(words) == 2:
                part = self.network(words[1], number, (*stack, name))
            elif words[:1] == ["fqdn"]:
                part = None
            elif words[:1] == ["nat"]:
                continue
            else:
                part = self.literal_network(number, words)
            result = None if part is None or result is None else result | part
        self.networks[name] = result
        return result

    def literal_network(self, number: int, words: list[str]) -> AddressSet:
        """``host A``, ``subnet A MASK``, ``A MASK``, ``A/len``, ``A /len``, ``range A B`` or ``any``."""
        given = " ".join(words)
        if words[0] == "subnet":
            words = words[1:]
        try:
            if words[:1] == ["host"] and len(words) == 2:
                return address_set([words[1]])
            if words[:1] == ["range"] and len(words) == 3:
                return address_set([f"{words[1]}-{words[2]}"], ranges=True)
            if words in (["any"], ["any4"]):
                return address_set(["0.0.0.0/0"])
            if words in (["any6"],):
                return address_set(["::/0"])
            if len(words) == 1 and "/" in words[0]:
                return address_set(words)
            if len(words) == 2 and words[1].startswith("/"):  # IOS: A /len
                return address_set([words[0] + words[1]])
            if len(words) == 2:
                return address_set([f"{words[0]}/{_prefix(words[1], wildcard=False)}"])
        except ValueError as e:
            raise self.error(number, f"'{given}': {e}") from e
        raise self.error(number, f"'{given}' is not a network object entry")

    def service(self, name: str, line: int, stack: tuple[str, ...] = ()) -> list[Service]:
        """The (protocol, ports) of a service object or group (a typed group: its protocol with each port set)."""
        if name in self.services:
            return self.services[name]
        obj = self.enter(name, "service", line, stack)
        out: list[Service] = []
        for number, words in obj.body:
            if words[0] == "group-object" and len(words) == 2:
                out.extend(self.service(words[1], number, (*stack, name)))
            elif words[0] == "port-object" and obj.protocol:
                ports = _Cursor(self, _Entry(name, number, words[1:], True, False, None, "")).ports("port-object")
                out.extend((p, ports) for p in _split_protocol(obj.protocol))
            elif words[0] in ("service-object", "service"):
                out.extend(self.service_line(number, words[1:], (*stack, name)))
            else:
                out.extend(self.service_line(number, words, (*stack, name)))
            if len(out) > _MAX_SERVICES:
                raise self.error(number, f"object {name} expands to more than {_MAX_SERVICES:,} services")
        self.services[name] = out
        return out

    def service_line(self, number: int, words: list[str], stack: tuple[str, ...]) -> list[Service]:
        """``tcp [source OP..] [destination] eq 443``, ``icmp echo``, ``object NAME``."""
        if words[:1] == ["object"] and len(words) == 2:
            return self.service(words[1], number, stack)
        cursor = _Cursor(self, _Entry("", number, words, True, False, None, ""))
        protocols = _split_protocol(cursor.take())
        ports: PortSet | None = None
        while cursor.more():
            word = cursor.take()
            if word == "source":
                cursor.ports("source")
            elif word == "destination" or word in _PORT_OPS:
                if word in _PORT_OPS:
                    cursor.i -= 1
                ports = cursor.ports("destination")
            # an ICMP type or similar: the service is broader than written, which errs toward reachability
        return [(_protocol(p, cursor), ports) for p in protocols]


class _Cursor:
    """Reads the words of one ACL entry (or object line) left to right."""

    def __init__(self, reader: _Reader, entry: _Entry) -> None:
        self.reader, self.entry, self.words, self.i = reader, entry, entry.words, 0
        self.unmodelled: list[str] = []

    def error(self, message: str) -> IngestError:
        text = " ".join(self.entry.words)
        return self.reader.error(self.entry.line, f"{message} in '{text[:80]}'")

    def more(self) -> bool:
        return self.i < len(self.words)

    def peek(self) -> str | None:
        return self.words[self.i] if self.more() else None

    def take(self, what: str = "a word") -> str:
        if not self.more():
            raise self.error(f"missing {what} (truncated line?)")
        self.i += 1
        return self.words[self.i - 1]

    def protocol(self) -> list[Service]:
        word = self.take("a protocol")
        if word in ("object-group", "object"):
            name = self.take("an object name")
            obj = self.reader.objects.get(name)
            if obj is not None and obj.kind == "protocol":
                return [(_protocol(w[-1], self), None) for _, w in obj.body if w[0] == "protocol-object"]
            return self.reader.service(name, self.entry.line)
        return [(_protocol(word, self), None)]

    def address(self) -> AddressSet | None:
        word = self.take("an address")
        line, asa = self.entry.line, self.entry.asa
        try:
            if word in ("any", "any4", "any6"):
                return None
            if word == "host":
                return address_set([self.take("the host address")])
            if word in ("object", "object-group"):
                addresses = self.reader.network(self.take("an object name"), line)
                if addresses is None:
                    self.unmodelled.append(f"{word} {self.words[self.i - 1]} (fqdn)")
                return addresses
            if word == "interface":
                self.unmodelled.append(f"interface {self.take('an interface name')}")
                return None
            if "/" in word:
                return address_set([word])
            mask = self.peek()
            if mask is None or mask.count(".") != 3:
                if self.entry.standard and not asa:  # IOS standard: a bare address is one host
                    return address_set([word])
                raise self.error(f"address {word} has no {'netmask' if asa else 'wildcard'}")
            self.i += 1
            return address_set([f"{word}/{_prefix(mask, wildcard=not asa)}"])
        except ValueError as e:
            raise self.error(str(e)) from e

    def port_ops_follow(self, *, source: bool) -> bool:
        word = self.peek()
        if word in _PORT_OPS:
            return True
        if word == "object-group" and self.i + 1 < len(self.words):
            obj = self.reader.objects.get(self.words[self.i + 1])
            return obj is not None and obj.kind == "service" and obj.protocol is not None
        return False

    def ports(self, side: str) -> PortSet:
        """One port operator and its operands; source ports are noted as unmodelled."""
        start = self.i
        op = self.take("a port operator")
        if op == "object-group":
            name = self.take("a service group name")
            ports = normalise_ports(r for _, p in self.reader.service(name, self.entry.line) for r in p or [(0, 65535)])
        elif op == "range":
            low, high = self.port(), self.port()
            if low > high:
                raise self.error(f"port range {low} {high} is backwards")
            ports = ((low, high),)
        elif op in ("lt", "gt", "neq"):
            port = self.port()
            if op == "lt":
                ports = ((0, port - 1),) if port > 0 else ()
            else:
                ports = ((port + 1, 65535),) if op == "gt" and port < 65535 else ()
                ports = complement_ports(((port, port),)) if op == "neq" else ports
            if not ports:
                raise self.error(f"{op} {port} matches no port")
        elif op == "eq":
            values = [self.port()]
            while not self.entry.asa and self.peek() is not None and _is_port(self.peek() or ""):
                values.append(self.port())
            ports = normalise_ports((v, v) for v in values)
        else:
            raise self.error(f"'{op}' is not a port operator (eq, neq, lt, gt, range)")
        if side == "source":
            self.unmodelled.append("source ports " + " ".join(self.words[start : self.i]))
        return ports

    def port(self) -> int:
        word = self.take("a port")
        if word.isdigit() and int(word) <= 65535:
            return int(word)
        if word in CISCO_PORTS:
            return CISCO_PORTS[word]
        raise self.error(f"'{word}' is not a port number or a known port name")

    def trailing(self) -> str | None:
        """Read what follows the addresses; return why the entry opens no new flow, if it does not."""
        skip: str | None = None
        while self.more():
            word = self.take()
            if word == "established":
                skip = "it matches only established TCP sessions (no new flows)"
            elif word == "inactive":
                skip = "it is inactive"
            elif word in ("log", "log-input"):
                while self.peek() is not None and (self.peek() in _LOG_WORDS or (self.peek() or "").isdigit()):
                    self.i += 1
                if self.peek() == "interval":
                    self.i += 2
            elif word in _UNMODELLED_1:
                self.unmodelled.append(f"{word} {self.take(f'a value after {word}')}")
            elif word == "ttl":
                op = self.take("a ttl operator")
                self.unmodelled.append(f"ttl {op} {self.take('a ttl')}")
                if op == "range":
                    self.take("a ttl")
            elif word in _FLAGS or word[:1] in "+-":
                self.unmodelled.append(word)
            elif self.entry.words[1:2] in (["icmp"], ["icmp6"]):
                self.unmodelled.append(f"icmp type {word}")
            else:
                raise self.error(f"unexpected '{word}'")
        return skip


def _protocol(word: str, cursor: _Cursor) -> str:
    if word in _PROTOCOLS:
        return _PROTOCOLS[word]
    if (word.isdigit() and int(word) <= 255) or word in _OTHER_PROTOCOLS:
        return f"other:{word}"
    raise cursor.error(f"'{word}' is not a protocol")


def _split_protocol(word: str) -> tuple[str, ...]:
    return ("tcp", "udp") if word == "tcp-udp" else (word,)


def _is_port(word: str) -> bool:
    return (word.isdigit() and int(word) <= 65535) or word in CISCO_PORTS


def _prefix(mask: str, *, wildcard: bool) -> int:
    """Prefix length of a netmask or (IOS) wildcard; ``ValueError`` when the bits are not contiguous."""
    value = int(ipaddress.IPv4Address(mask))
    hosts = value if wildcard else value ^ 0xFFFFFFFF
    if hosts & (hosts + 1):
        kind = "wildcard" if wildcard else "netmask"
        raise ValueError(f"{kind} {mask} is not contiguous; Wardwatch models networks as CIDRs (split the entry)")
    return 32 - hosts.bit_length()
