"""Write Zeek ASCII (TSV) logs exactly as Zeek's default writer lays them out.

Headers are ``#separator \\x09``, ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#path``,
``#open``, ``#fields``, ``#types``; the file ends with ``#close``. Unset values are ``-``, empty sets and
vectors ``(empty)``, booleans ``T``/``F``, times and intervals have six decimals, and separators or
non-printable characters inside a value are written ``\\xHH``. Field lists are those of Zeek 6 with its
default scripts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

#: Zeek log -> ``(field, type)`` in column order.
SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "conn": (
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"), ("duration", "interval"),
        ("orig_bytes", "count"), ("resp_bytes", "count"), ("conn_state", "string"), ("local_orig", "bool"),
        ("local_resp", "bool"), ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
        ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
        ("tunnel_parents", "set[string]"),
    ),
    "dhcp": (
        ("ts", "time"), ("uids", "set[string]"), ("client_addr", "addr"), ("server_addr", "addr"),
        ("mac", "string"), ("host_name", "string"), ("client_fqdn", "string"), ("domain", "string"),
        ("requested_addr", "addr"), ("assigned_addr", "addr"), ("lease_time", "interval"),
        ("client_message", "string"), ("server_message", "string"), ("msg_types", "vector[string]"),
        ("duration", "interval"),
    ),
    "dns": (
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("proto", "enum"), ("trans_id", "count"), ("rtt", "interval"),
        ("query", "string"), ("qclass", "count"), ("qclass_name", "string"), ("qtype", "count"),
        ("qtype_name", "string"), ("rcode", "count"), ("rcode_name", "string"), ("AA", "bool"), ("TC", "bool"),
        ("RD", "bool"), ("RA", "bool"), ("Z", "count"), ("answers", "vector[string]"),
        ("TTLs", "vector[interval]"), ("rejected", "bool"),
    ),
    "http": (
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("trans_depth", "count"), ("method", "string"), ("host", "string"),
        ("uri", "string"), ("referrer", "string"), ("version", "string"), ("user_agent", "string"),
        ("origin", "string"), ("request_body_len", "count"), ("response_body_len", "count"),
        ("status_code", "count"), ("status_msg", "string"), ("info_code", "count"), ("info_msg", "string"),
        ("tags", "set[enum]"), ("username", "string"), ("password", "string"), ("proxied", "set[string]"),
        ("orig_fuids", "vector[string]"), ("orig_filenames", "vector[string]"),
        ("orig_mime_types", "vector[string]"), ("resp_fuids", "vector[string]"),
        ("resp_filenames", "vector[string]"), ("resp_mime_types", "vector[string]"),
    ),
    "ssl": (
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("version", "string"), ("cipher", "string"), ("curve", "string"),
        ("server_name", "string"), ("resumed", "bool"), ("last_alert", "string"), ("next_protocol", "string"),
        ("established", "bool"), ("ssl_history", "string"), ("cert_chain_fps", "vector[string]"),
        ("client_cert_chain_fps", "vector[string]"), ("sni_matches_cert", "bool"),
    ),
    "x509": (
        ("ts", "time"), ("fingerprint", "string"), ("certificate.version", "count"),
        ("certificate.serial", "string"), ("certificate.subject", "string"), ("certificate.issuer", "string"),
        ("certificate.not_valid_before", "time"), ("certificate.not_valid_after", "time"),
        ("certificate.key_alg", "string"), ("certificate.sig_alg", "string"), ("certificate.key_type", "string"),
        ("certificate.key_length", "count"), ("certificate.exponent", "string"), ("certificate.curve", "string"),
        ("san.dns", "vector[string]"), ("san.uri", "vector[string]"), ("san.email", "vector[string]"),
        ("san.ip", "vector[addr]"), ("basic_constraints.ca", "bool"), ("basic_constraints.path_len", "count"),
        ("host_cert", "bool"), ("client_cert", "bool"),
    ),
    "snmp": (
        ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
        ("id.resp_p", "port"), ("duration", "interval"), ("version", "string"), ("community", "string"),
        ("get_requests", "count"), ("get_bulk_requests", "count"), ("get_responses", "count"),
        ("set_requests", "count"), ("display_string", "string"), ("up_since", "time"),
    ),
    "software": (
        ("ts", "time"), ("host", "addr"), ("host_p", "port"), ("software_type", "enum"), ("name", "string"),
        ("version.major", "count"), ("version.minor", "count"), ("version.minor2", "count"),
        ("version.minor3", "count"), ("version.addl", "string"), ("unparsed_version", "string"),
    ),
    "known_services": (
        ("ts", "time"), ("host", "addr"), ("port_num", "port"), ("port_proto", "enum"), ("service", "set[string]"),
    ),
}  # fmt: skip

#: A value as the writer takes it: None is unset, tuples are sets/vectors, ints under a time/interval type are
#: microseconds.
Value = str | int | bool | None | tuple[str, ...]


def _escape(text: str, special: str = "\t\\") -> str:
    if text.isascii() and text.isprintable() and not any(ch in text for ch in special):
        return text  # the common case, checked in C
    out = []
    for ch in text:
        if ch in special or not ch.isprintable() or ord(ch) > 0x7E:
            out.append("".join(f"\\x{b:02x}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def _micros(value: int) -> str:
    sign = "-" if value < 0 else ""
    seconds, micros = divmod(abs(value), 1_000_000)
    return f"{sign}{seconds}.{micros:06d}"


def format_value(value: Value, zeek_type: str) -> str:
    """Render one value the way Zeek's ASCII writer does."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, tuple):
        return ",".join(_escape(v, "\t\\,") for v in value) if value else "(empty)"
    if isinstance(value, int) and zeek_type in ("time", "interval"):
        return _micros(value)
    if isinstance(value, int):
        return str(value)
    if value == "" and zeek_type == "string":
        return "(empty)"
    return _escape(value) if zeek_type in ("string", "enum") else value


def _stamp(micros: int) -> str:
    return datetime.fromtimestamp(micros // 1_000_000, tz=UTC).strftime("%Y-%m-%d-%H-%M-%S")


def uid(seed: int, n: int) -> str:
    """A Zeek-style connection uid (``C`` + 17 base62 characters), deterministic in ``seed`` and ``n``."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    value = int.from_bytes(hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=12).digest(), "big")
    chars = []
    for _ in range(17):
        value, rest = divmod(value, 62)
        chars.append(alphabet[rest])
    return "C" + "".join(chars)


class ZeekLogs:
    """One open TSV file per log in :data:`SCHEMAS`, written row by row; call :meth:`close` at the end."""

    def __init__(self, directory: Path, opened: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = [directory / f"{name}.log" for name in SCHEMAS]
        self._files: dict[str, TextIO] = {}
        for name, path in zip(SCHEMAS, self.paths, strict=True):
            handle = path.open("w", encoding="utf-8", newline="\n")
            fields, types = zip(*SCHEMAS[name], strict=True)
            handle.write(
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                f"#path\t{name}\n#open\t{_stamp(opened)}\n"
                f"#fields\t{chr(9).join(fields)}\n#types\t{chr(9).join(types)}\n"
            )
            self._files[name] = handle
        self.rows = dict.fromkeys(SCHEMAS, 0)
        """Rows written per log."""

    def write(self, name: str, values: Sequence[Value]) -> None:
        """Append one row to log ``name``; ``values`` in the schema's column order."""
        schema = SCHEMAS[name]
        if len(values) != len(schema):
            msg = f"{name}.log takes {len(schema)} values, got {len(values)}"
            raise ValueError(msg)
        cells = (format_value(v, t) for v, (_, t) in zip(values, schema, strict=True))
        self._files[name].write("\t".join(cells) + "\n")
        self.rows[name] += 1

    def close(self, closed: int) -> None:
        """Write the ``#close`` line and close every file."""
        for handle in self._files.values():
            handle.write(f"#close\t{_stamp(closed)}\n")
            handle.close()
