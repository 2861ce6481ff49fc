"""What each simulated device shows on the wire, from the catalog's ``network_identity`` blocks.

The catalog describes a model (``{os_version}`` placeholders included); :func:`identity_for` resolves it for
one device: its AE title, DHCP vendor class with its versions filled in, and whether its DICOM goes over TLS.

**SMB server** (:func:`smb_server_dialect`).  Every Windows device of the NT family runs the Server service on
445, as Windows does out of the box (Windows CE is not NT and runs none).  What it answers depends on its OS:

* *legacy* Windows (:func:`is_legacy_windows`: NT, 2000, XP, Vista, 7, Server 2003/2008, their Embedded
  editions; out of Microsoft support, MS17-010 often never applied on a vendor image) still offers SMBv1 and
  answers an SMB1 negotiate in SMB1 (``NT LM 0.12``): the hosts WannaCry spread through;
* except one in five (:attr:`~wardwatch.simulate.SimDevice.smb1_disabled`: the 2nd, 7th, 12th... networked
  legacy Windows device in generation order, so the seed decides which): the vendor's hardening guide was
  applied, SMBv1 is off and it answers only SMB2 (``SMB 2.1`` on 7/2008 R2,
  ``SMB 2.0.2`` on Vista/2008); an XP/2003/2000 device has no SMB2, so a hardened one has its Server service
  disabled and serves no SMB;
* *modern* Windows (8 and later, Server 2012 and later, 10/11 IoT editions) has SMBv1 off and answers SMB2/3
  (``SMB 3.1.1`` on 10/11/Server 2016+, ``SMB 3.0.2`` on 8.1/2012 R2, ``SMB 3.0`` on 8/2012).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from wardwatch.simulate._model import SimDevice


@dataclass(frozen=True, slots=True)
class DicomIdentity:
    """A DICOM application entity."""

    role: str
    """``scu`` (sends images) or ``scp`` (PACS archive)."""
    ae_title: str
    """Its AE title (at most 16 characters)."""
    implementation_class_uid: str
    """Implementation Class UID, under the vendor's UID root."""
    implementation_version_name: str
    """Implementation Version Name."""
    sop_classes: tuple[str, ...]
    """Storage SOP classes it proposes (empty for an SCP)."""
    tls: bool
    """True when this device's associations run over DICOM TLS (port 2762)."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Every protocol identifier one networked device emits; None where it does not speak the protocol."""

    dhcp_stack: str
    """DHCP client family (``windows-10``, ``dhcpcd``, ``embedded``...)."""
    dhcp_vendor_class: str | None
    """Option 60, or None when the stack sends none."""
    dhcp_param_request_list: tuple[int, ...]
    """Option 55, in the stack's order."""
    dicom: DicomIdentity | None
    """DICOM AE, for imaging modalities, workstations and PACS."""
    hl7_application: str | None
    """MSH-3 sending application."""
    hl7_message_type: str | None
    """MSH-9 message type (``ORU^R01``...)."""
    hl7_version: str | None
    """MSH-12 version id."""
    user_agent: str | None
    """HTTP User-Agent."""
    tls_service: str | None
    """Short name of the internal TLS service it connects to (``ehr``, ``mednet``...)."""
    remote_sni: str | None
    """SNI of the vendor's remote-service cloud (only some devices use it; see the traffic generator)."""
    remote_address: str | None
    """Public IPv4 address of that cloud."""
    smb_dialects: tuple[str, ...] | None
    """SMB1 dialects offered in SMB_COM_NEGOTIATE."""
    smb_server_dialect: str | None
    """What its own SMB server on 445 answers (``NT LM 0.12`` = SMBv1, else an SMB2 dialect); None when it
    serves no SMB (see :func:`smb_server_dialect`)."""
    snmp_sys_descr: str | None
    """sysDescr.0 answered to an SNMP v2c ``public`` get."""
    snmp_sys_object_id: str | None
    """sysObjectID.0."""
    telnet_banner: str | None
    """Banner of its telnet service."""


#: One legacy Windows device in this many has SMBv1 turned off (the vendor's hardening applied).
SMB1_HARDENED_EVERY = 5
#: The SMBv1 dialect an SMB1 server selects (the NT response format).
SMB1_DIALECT = "NT LM 0.12"
_LEGACY_WINDOWS = re.compile(r"^Windows (NT|2000|XP|Vista|7)\b|^Windows Server (2000|2003|2008)\b")
_SMB2_ONLY = re.compile(r"^Windows (Vista|7)\b|^Windows Server 2008\b")


def _os(os_name: str | None, os_version: str | None) -> str:
    return " ".join(x for x in (os_name, os_version) if x)


def is_legacy_windows(os_name: str | None, os_version: str | None = None) -> bool:
    """Whether an OS is an end-of-support Windows of the NT family (NT to 7, Server up to 2008, Embedded too).

    >>> is_legacy_windows("Windows 7 Embedded", "SP1"), is_legacy_windows("Windows Server", "2008 R2")
    (True, True)
    >>> is_legacy_windows("Windows 10 IoT Enterprise", "2016 LTSB"), is_legacy_windows("Windows CE", "6.0")
    (False, False)
    """
    return _LEGACY_WINDOWS.match(_os(os_name, os_version)) is not None


def smb_server_dialect(device: SimDevice) -> str | None:
    """What ``device``'s SMB server answers (see the module docstring); None when it serves no SMB."""
    name = _os(device.os_name, device.os_version)
    if not name.startswith("Windows") or name.startswith("Windows CE"):
        return None
    if not is_legacy_windows(device.os_name, device.os_version):
        if re.match(r"^Windows (8\.1|Server 2012 R2)\b", name):
            return "SMB 3.0.2"
        return "SMB 3.0" if re.match(r"^Windows (8|Server 2012)\b", name) else "SMB 3.1.1"
    if not device.smb1_disabled:
        return SMB1_DIALECT
    if _SMB2_ONLY.match(name) is None:
        return None  # XP/2003 speak no SMB2: hardening them means turning the Server service off
    return "SMB 2.1" if re.match(r"^Windows (7|Server 2008 R2)\b", name) else "SMB 2.0.2"


@cache
def _raw_identities() -> dict[str, dict[str, Any] | None]:
    text = resources.files("wardwatch").joinpath("data", "device_catalog.json").read_text(encoding="utf-8")
    return {m["key"]: m.get("network_identity") for m in json.loads(text)["models"]}


def _fill(template: str, device: SimDevice) -> str:
    return template.format(
        os_version=device.os_version or "0",
        firmware_version=device.firmware_version or "0",
        software_version=device.software_version or "0",
    )


def _optional(block: dict[str, Any] | None, key: str, device: SimDevice) -> str | None:
    if block is None or block.get(key) is None:
        return None
    return _fill(str(block[key]), device)


def identity_for(device: SimDevice, site_code: str, seed: int) -> DeviceIdentity | None:
    """Resolve the catalog identity of ``device``; None when it is not networked. Deterministic per device."""
    raw = _raw_identities().get(device.model_key)
    if raw is None or not device.networked:
        return None
    rng = random.Random(f"{seed}:identity:{device.index}")  # noqa: S311 - simulation, not security
    dhcp = raw["dhcp"]
    dicom = None
    if (block := raw.get("dicom")) is not None:
        if block["role"] == "scp":
            title = f"{block['ae_title_prefix']}_{site_code}"
        else:
            title = f"{block['ae_title_prefix']}{device.index % 10_000:04d}"
        dicom = DicomIdentity(
            role=block["role"],
            ae_title=title[:16],
            implementation_class_uid=block["implementation_class_uid"],
            implementation_version_name=block["implementation_version_name"],
            sop_classes=tuple(block["sop_classes"]),
            tls=rng.random() < float(block["tls_share"]),
        )
    hl7, http, tls = raw.get("hl7"), raw.get("http"), raw.get("tls")
    remote, smb, snmp, telnet = raw.get("remote_service"), raw.get("smb"), raw.get("snmp"), raw.get("telnet")
    return DeviceIdentity(
        dhcp_stack=dhcp["stack"],
        dhcp_vendor_class=_optional(dhcp, "vendor_class", device),
        dhcp_param_request_list=tuple(int(code) for code in dhcp["param_request_list"]),
        dicom=dicom,
        hl7_application=_optional(hl7, "sending_application", device),
        hl7_message_type=_optional(hl7, "message_type", device),
        hl7_version=_optional(hl7, "version", device),
        user_agent=_optional(http, "user_agent", device),
        tls_service=_optional(tls, "service", device),
        remote_sni=_optional(remote, "sni", device),
        remote_address=_optional(remote, "address", device),
        smb_dialects=tuple(smb["dialects"]) if smb is not None else None,
        smb_server_dialect=smb_server_dialect(device),
        snmp_sys_descr=_optional(snmp, "sys_descr", device),
        snmp_sys_object_id=_optional(snmp, "sys_object_id", device),
        telnet_banner=_optional(telnet, "banner", device),
    )
