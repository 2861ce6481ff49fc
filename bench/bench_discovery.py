"""Benchmark passive discovery: our capture reader + flow table + dissectors against tshark -T fields.

Generates deterministic pcap captures (bench/out/discovery-<N>.pcap) with realistic flow sizes carrying the
identity fields (DHCP hostname/vendor class, HTTP User-Agent, TLS SNI, DICOM AE titles, HL7 MSH-3 over MLLP)
among bulk traffic, then measures, each in its own process (so peak RSS is per tool):

* ours: ``run_capture(file, specs)`` with every ``wardwatch.discovery`` module that exports ``SPEC``;
* tshark: ``tshark -r FILE -T fields -e ...`` for the same identity fields.

The distinct identity values both tools found are compared per field (DHCP hostname and vendor class, HTTP
User-Agent, TLS SNI, DICOM AE titles, HL7 sending/receiving application MSH-3/MSH-5, which ours reports both
as ``hl7_application``) and the comparison is printed and written to the report.

Usage::

    .venv/bin/python bench/bench_discovery.py                      # 2 M and 20 M packets, tshark on 2 M
    .venv/bin/python bench/bench_discovery.py --sizes 2000000 --tshark-sizes 2000000

Writes bench/out/discovery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

TSHARK_FIELDS = [
    "dhcp.option.hostname",
    "dhcp.option.vendor_class_id",
    "http.user_agent",
    "tls.handshake.extensions_server_name",
    "dicom.assoc.ae.calling",
    "dicom.assoc.ae.called",
    "hl7.segment",  # MSH-3/MSH-5 have no field of their own: the MSH segment text carries them
]

# -- capture generation ------------------------------------------------------------------------------------------

_REC = struct.Struct("<IIII")
_ETH_IP = struct.Struct("!6s6sH BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")
MSS = 1448


def _mac(n: int) -> bytes:
    return bytes((0x02, 0x00, (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255))


def _ip(n: int) -> bytes:
    return bytes((10, 20 + (n >> 16) % 200, (n >> 8) & 255, n & 255))


ROUTER_MAC = _mac(0xFFFF01)
BROADCAST = b"\xff" * 6


class Writer:
    """A minimal, fast pcap (microsecond, Ethernet) writer."""

    def __init__(self, path: Path) -> None:
        self.f = path.open("wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.buf: list[bytes] = []
        self.count = 0
        self.ts = 1_700_000_000.0

    def frame(self, frame: bytes) -> None:
        sec = int(self.ts)
        self.buf.append(_REC.pack(sec, int((self.ts - sec) * 1e6), len(frame), len(frame)) + frame)
        self.count += 1
        self.ts += 0.0005
        if len(self.buf) >= 4096:
            self.f.write(b"".join(self.buf))
            self.buf.clear()

    def close(self) -> None:
        self.f.write(b"".join(self.buf))
        self.f.close()


def ipv4(smac: bytes, dmac: bytes, src: bytes, dst: bytes, proto: int, l4: bytes) -> bytes:
    """Ethernet + IPv4 header + ``l4`` (checksums left at 0: neither tool verifies them)."""
    return _ETH_IP.pack(dmac, smac, 0x0800, 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst) + l4


class TcpFlow:
    """A TCP conversation: handshake, request, response segments, FIN."""

    def __init__(self, w: Writer, cmac: bytes, smac: bytes, cip: bytes, sip: bytes, cport: int, sport: int) -> None:
        self.w, self.cmac, self.smac, self.cip, self.sip, self.cport, self.sport = w, cmac, smac, cip, sip, cport, sport
        self.cseq, self.sseq = 1000, 50000

    def send(self, from_client: bool, flags: int, data: bytes = b"") -> None:
        """Write one segment."""
        if from_client:
            seg = _TCP.pack(self.cport, self.sport, self.cseq, self.sseq, 0x50, flags, 65535, 0, 0) + data
            self.w.frame(ipv4(self.cmac, self.smac, self.cip, self.sip, 6, seg))
            self.cseq += len(data) + (1 if flags & 3 else 0)
        else:
            seg = _TCP.pack(self.sport, self.cport, self.sseq, self.cseq, 0x50, flags, 65535, 0, 0) + data
            self.w.frame(ipv4(self.smac, self.cmac, self.sip, self.cip, 6, seg))
            self.sseq += len(data) + (1 if flags & 3 else 0)

    def steps(self, request: bytes, response: bytes, bulk_segments: int, bulk_from_client: bool) -> Iterator[None]:
        """Yield after each packet so flows interleave."""
        self.send(True, 0x02)
        yield
        self.send(False, 0x12)
        yield
        self.send(True, 0x10)
        yield
        if request:
            self.send(True, 0x18, request)
            yield
        if response:
            self.send(False, 0x18, response)
            yield
        chunk = bytes(MSS)
        for i in range(bulk_segments):
            self.send(bulk_from_client, 0x10, chunk)
            yield
            if i % 2:
                self.send(not bulk_from_client, 0x10)
                yield
        self.send(True, 0x11)
        yield
        self.send(False, 0x11)
        yield
        self.send(True, 0x10)
        yield


def dhcp_packets(w: Writer, mac: bytes, host: int) -> Iterator[None]:
    """DISCOVER, OFFER, REQUEST, ACK with hostname (12) and vendor class (60)."""
    name = f"INFUSION-{host:05d}".encode()
    vendor = b"BD Alaris PC 8015" if host % 3 else b"GE Carescape B450"
    yiaddr = _ip(host)
    for mtype, from_client in ((1, True), (2, False), (3, True), (5, False)):
        opts = bytes((53, 1, mtype))
        if from_client:
            opts += bytes((12, len(name))) + name + bytes((60, len(vendor))) + vendor + bytes((55, 4, 1, 3, 6, 15))
        opts += b"\xff"
        bootp = (
            bytes((1 if from_client else 2, 1, 6, 0))
            + struct.pack("!IHH", host, 0, 0x8000)
            + bytes(4)
            + (bytes(4) if from_client else yiaddr)
            + bytes(8)
            + mac
            + bytes(10 + 64 + 128)
            + b"\x63\x82\x53\x63"
            + opts
        )
        sport, dport = (68, 67) if from_client else (67, 68)
        udp = _UDP.pack(sport, dport, 8 + len(bootp), 0) + bootp
        src = bytes(4) if from_client else b"\x0a\x14\x00\x01"
        w.frame(ipv4(mac if from_client else ROUTER_MAC, BROADCAST, src, b"\xff\xff\xff\xff", 17, udp))
        yield


def client_hello(sni: str) -> bytes:
    """A TLS 1.2 ClientHello with an SNI extension."""
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    exts = sni_ext + struct.pack("!HH", 0x000D, 4) + b"\x00\x02\x04\x01"
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!H", 4) + b"\xc0\x2f\x00\x9c" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def associate_rq(calling: str, called: str) -> bytes:
    """A DICOM A-ASSOCIATE-RQ with application context, one presentation context and user info."""

    def item(t: int, v: bytes) -> bytes:
        return struct.pack("!BBH", t, 0, len(v)) + v

    ctx = item(0x10, b"1.2.840.10008.3.1.1.1")
    pres = item(0x20, b"\x01\x00\x00\x00" + item(0x30, b"1.2.840.10008.5.1.4.1.1.2") + item(0x40, b"1.2.840.10008.1.2"))
    user = item(0x50, item(0x51, struct.pack("!I", 16384)) + item(0x52, b"1.2.276.0.7230010.3.0.3.6.4"))
    body = b"\x00\x01\x00\x00" + called.encode().ljust(16) + calling.encode().ljust(16) + bytes(32) + ctx + pres + user
    return struct.pack("!BBI", 1, 0, len(body)) + body


def associate_ac(calling: str, called: str) -> bytes:
    """The matching A-ASSOCIATE-AC (type 2)."""
    rq = associate_rq(calling, called)
    return b"\x02" + rq[1:]


def hl7_message(n: int) -> bytes:
    """An ORU^R01 over MLLP (0x0b ... 0x1c 0x0d)."""
    app = ("PHILIPS_IX", "DRAEGER_GW", "MINDRAY_CMS")[n % 3]
    msg = (
        f"MSH|^~\\&|{app}|ICU|EPIC|HOSP|20240101120000||ORU^R01|{n}|P|2.6\r"
        f"PID|1||{100000 + n}^^^HOSP||DOE^JOHN\rOBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F\r"
    )
    return b"\x0b" + msg.encode() + b"\x1c\x0d"


def flows(w: Writer, rng: random.Random, hosts: int) -> Iterator[Iterator[None]]:
    """An endless, deterministic mix of flows."""
    server_http, server_dicom, server_hl7 = 60001, 60002, 60003
    n = 0
    while True:
        n += 1
        host = rng.randrange(1, hosts)
        cmac, cip = _mac(host), _ip(host)
        cport = 1024 + (n % 60000)
        kind = rng.random()
        if kind < 0.05:
            yield dhcp_packets(w, cmac, host)
        elif kind < 0.30:
            f = TcpFlow(w, cmac, _mac(server_http), cip, _ip(server_http), cport, 80)
            ua = f"Mozilla/5.0 (MedDevice {host % 50}) InfusionAgent/{host % 7}.1"
            req = f"GET /api/status HTTP/1.1\r\nHost: pump-gw\r\nUser-Agent: {ua}\r\n\r\n".encode()
            yield f.steps(
                req, b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 14480\r\n\r\n", rng.randrange(2, 20), False
            )
        elif kind < 0.55:
            # Remote TLS service reached through the router: the router's MAC carries many IPs.
            peer = 0x010000 + rng.randrange(0, 500)
            f = TcpFlow(w, cmac, ROUTER_MAC, cip, bytes((52, 84, (peer >> 8) & 255, peer & 255)), cport, 443)
            sni = f"telemetry{peer % 40}.vendor-cloud.example"
            yield f.steps(client_hello(sni), b"\x16\x03\x03\x00\x04\x0e\x00\x00\x00", rng.randrange(4, 40), False)
        elif kind < 0.65:
            f = TcpFlow(w, cmac, _mac(server_dicom), cip, _ip(server_dicom), cport, 104)
            calling, called = f"MODALITY{host % 100:03d}", "PACS_ARCHIVE"
            yield f.steps(associate_rq(calling, called), associate_ac(calling, called), rng.randrange(20, 400), True)
        elif kind < 0.80:
            f = TcpFlow(w, cmac, _mac(server_hl7), cip, _ip(server_hl7), cport, 2575)
            ack = b"\x0bMSH|^~\\&|EPIC|HOSP|X|ICU|20240101120000||ACK|1|P|2.6\rMSA|AA|1\r\x1c\x0d"
            yield f.steps(hl7_message(n), ack, rng.randrange(0, 6), True)
        else:
            f = TcpFlow(w, cmac, _mac(60004), cip, _ip(60004), cport, 445)
            yield f.steps(b"", b"", rng.randrange(10, 120), rng.random() < 0.5)


def generate(path: Path, packets: int, seed: int = 7) -> None:
    """Write a capture of at least ``packets`` packets (deterministic for a seed)."""
    rng = random.Random(seed)
    w = Writer(path)
    source = flows(w, rng, hosts=4000)
    active: list[Iterator[None]] = [next(source) for _ in range(64)]
    while w.count < packets:
        i = rng.randrange(len(active))
        try:
            next(active[i])
        except StopIteration:
            active[i] = next(source)
    w.close()


# -- measuring ---------------------------------------------------------------------------------------------------

_OURS = """
import importlib, json, pkgutil, resource, sys, time
import wardwatch.discovery as d
from wardwatch.discovery.flows import run_capture
specs, names = [], []
for m in pkgutil.iter_modules(d.__path__):
    if m.name.startswith("_") or m.name == "flows":
        continue
    try:
        mod = importlib.import_module("wardwatch.discovery." + m.name)
    except Exception as e:
        print("skipped dissector module", m.name, e, file=sys.stderr)
        continue
    if hasattr(mod, "SPEC"):
        specs.append(mod.SPEC); names.append(mod.SPEC.name)
t = time.perf_counter()
c = time.process_time()
r = run_capture(sys.argv[1], specs)
dt = time.perf_counter() - t
cpu = time.process_time() - c
ids = {"dhcp_hostname": set(), "dhcp_vendor_class": set(), "http_user_agent": set(), "tls_sni": set(),
       "dicom_ae_title": set(), "hl7_msh3_msh5": set()}
for o in r.observations:
    k, ev = o.kind.value, o.evidence
    if k == "hostname" and ev.protocol == "dhcp":
        ids["dhcp_hostname"].add(o.value)
    elif k == "hl7_application":
        ids["hl7_msh3_msh5"].add(o.value)
    elif k in ids:
        ids[k].add(o.value)
print(json.dumps({"seconds": dt, "cpu_seconds": cpu, "packets": r.stats.read.packets, "dissectors": names,
  "identities": {k: sorted(v) for k, v in ids.items()},
  "observations": len(r.observations), "findings": len(r.findings), "conversations": len(r.conversations),
  "payloads": r.stats.payloads, "dissector_errors": r.stats.dissector_errors, "peak_flows": r.stats.peak_flows,
  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_ours(path: Path) -> dict[str, object]:
    """Run our engine in a fresh process; its own peak RSS."""
    out = subprocess.run([sys.executable, "-c", _OURS, str(path)], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


# tshark -T fields column (in TSHARK_FIELDS order) -> identity name compared with ours.
_TSHARK_IDS = ["dhcp_hostname", "dhcp_vendor_class", "http_user_agent", "tls_sni", "dicom_ae_title",
               "dicom_ae_title", "hl7_msh3_msh5"]  # fmt: skip


def _tshark_identities(line: str, ids: dict[str, set[str]]) -> None:
    """Add the identity values of one ``-T fields`` output line (several occurrences are comma separated)."""
    for name, column in zip(_TSHARK_IDS, line.rstrip("\n").split("\t"), strict=False):
        for value in column.split(",") if column else ():
            if name == "hl7_msh3_msh5":  # the MSH segment text: MSH|^~\&|MSH-3|MSH-4|MSH-5|...
                parts = value.split("|")
                if parts[0] == "MSH":
                    ids[name].update(part.strip() for part in parts[2:5:2] if part.strip())
                continue
            value = value.strip()
            if value:
                ids[name].add(value)


def compare_identities(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> dict[str, object]:
    """Per identity field: how many distinct values each tool found and which only one of them found."""
    out: dict[str, object] = {}
    for name in sorted(set(ours) | set(theirs)):
        a, b = set(ours.get(name, [])), set(theirs.get(name, []))
        out[name] = {"ours": len(a), "tshark": len(b), "only_ours": sorted(a - b)[:5], "only_tshark": sorted(b - a)[:5]}
    return out


def run_tshark(path: Path, packets: int) -> dict[str, object]:
    """tshark -T fields over the same file; peak RSS of the child from getrusage."""
    cmd = ["tshark", "-n", "-r", str(path), "-d", "tcp.port==104,dicom", "-d", "tcp.port==2575,hl7", "-T", "fields"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = usage.ru_maxrss
    cpu_before = usage.ru_utime + usage.ru_stime
    t = time.perf_counter()
    lines = 0
    nonempty = 0
    ids: dict[str, set[str]] = {name: set() for name in _TSHARK_IDS}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines += 1
            if line.strip():
                nonempty += 1
                _tshark_identities(line, ids)
    dt = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = usage.ru_maxrss
    return {
        "seconds": dt,
        "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
        "packets": lines,
        "rows_with_fields": nonempty,
        "peak_rss_mb": max(after, before) / 1024,
        "command": " ".join(cmd),
        "identities": {k: sorted(v) for k, v in ids.items()},
    }


def main() -> None:
    """Generate, measure, print and write bench/out/discovery.json."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2_000_000, 20_000_000])
    ap.add_argument("--tshark-sizes", type=int, nargs="*", default=[2_000_000])
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"runs": []}
    runs: list[dict[str, object]] = []
    for size in args.sizes:
        path = OUT / f"discovery-{size}.pcap"
        if not path.exists():
            t = time.perf_counter()
            generate(path, size)
            print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
        load_before = os.getloadavg()[0]
        ours = run_ours(path)
        ours["load_average_1min"] = load_before
        if size not in args.tshark_sizes or not shutil.which("tshark"):
            ours.pop("identities", None)
        pps = int(ours["packets"]) / float(ours["seconds"])  # type: ignore[call-overload, arg-type]
        run: dict[str, object] = {"file": str(path), "size_mb": path.stat().st_size / 1e6, "ours": ours}
        ours["packets_per_second"] = pps
        print(
            f"{size:>11,} ours:   {pps:>10,.0f} packets/s  peak RSS {ours['peak_rss_mb']:.0f} MB  "
            f"load {load_before:.1f}  dissectors={ours['dissectors']} observations={ours['observations']}"
        )
        if size in args.tshark_sizes and shutil.which("tshark"):
            load_tshark = os.getloadavg()[0]
            ts = run_tshark(path, size)
            ts["load_average_1min"] = load_tshark
            tpps = int(ts["packets"]) / float(ts["seconds"])  # type: ignore[call-overload, arg-type]
            ts["packets_per_second"] = tpps
            run["tshark"] = ts
            run["speedup"] = pps / tpps
            # On a shared machine the CPU share each tool gets varies; CPU seconds show the work itself.
            run["speedup_cpu"] = float(ts["cpu_seconds"]) / float(ours["cpu_seconds"])  # type: ignore[arg-type]
            rss = ts["peak_rss_mb"]
            print(
                f"{size:>11,} tshark: {tpps:>10,.0f} packets/s  peak RSS {rss:.0f} MB  load {load_tshark:.1f}  "
                f"ratio {pps / tpps:.1f}x (CPU seconds: ours {float(ours['cpu_seconds']):.1f}, "  # type: ignore[arg-type]
                f"tshark {float(ts['cpu_seconds']):.1f}, ratio {run['speedup_cpu']:.1f}x)"  # type: ignore[arg-type]
            )
            same = compare_identities(ours.pop("identities"), ts.pop("identities"))  # type: ignore[arg-type]
            run["identities"] = same
            for name, row in same.items():
                print(f"{'':>11} identities {name}: {row}")
        runs.append(run)
    report["runs"] = runs
    report["python"] = sys.version
    (OUT / "discovery.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {OUT / 'discovery.json'}")


if __name__ == "__main__":
    main()
