"""DICOM upper layer dissector (PS3.8): who talks DICOM, as which application entity, with which stack.

From the association set-up at the start of a TCP stream:

- **A-ASSOCIATE-RQ** (sent by the requestor, the SCU): the calling AE title (the sender's) and called AE title
  (the receiver's), the application context, the abstract syntaxes (SOP classes) proposed in presentation
  contexts, SCP/SCU role selection, and the user information: implementation class UID and version name (which
  identify the DICOM stack: pynetdicom, DCMTK, a vendor's own) and user identity negotiation.
- **A-ASSOCIATE-AC** (sent by the acceptor, the SCP): its implementation UID/version, how many presentation
  contexts it accepted, the role selections it granted, and the AE titles it echoes.
- **A-ASSOCIATE-RJ**: the acceptor is a DICOM SCP that refused, and why.

Findings: an A-ASSOCIATE-RQ on a payload the flow table did not see TLS on gives ``CLEARTEXT_DICOM`` on the
acceptor; a user identity with a passcode, SAML assertion or JWT sent without TLS gives
``CLEARTEXT_CREDENTIALS`` on the requestor (the secret itself is never repeated).

P-DATA-TF, A-RELEASE and A-ABORT PDUs are recognised and yield nothing.  Everything is bounds-checked: a
truncated or malformed PDU yields what was complete before the damage, and never an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Final

from wardwatch.discovery._base import DissectorSpec, Payload, Result
from wardwatch.discovery.dicom_uids import SOP_CLASSES, STORAGE_MODALITIES, implementation_vendor
from wardwatch.domain.observations import Endpoint, Finding, FindingKind, Observation, ObservationKind

__all__ = ["SPEC", "dissect", "heuristic"]

PROTOCOL: Final = "dicom"

_A_ASSOCIATE_RQ: Final = 0x01
_A_ASSOCIATE_AC: Final = 0x02
_A_ASSOCIATE_RJ: Final = 0x03
_KNOWN_PDU_TYPES: Final = frozenset(range(0x01, 0x08))  # RQ, AC, RJ, P-DATA-TF, RELEASE-RQ/RP, ABORT
_MAX_ASSOCIATE_LENGTH: Final = 1 << 20  # far above any real A-ASSOCIATE (a few KiB with 128 contexts)
_PRINTABLE_ASCII: Final = bytes(range(0x20, 0x7F))
_FIXED_FIELDS: Final = 74  # PDU header (6) + version, reserved, called AE, calling AE, reserved (68)

_ITEM_APPLICATION_CONTEXT: Final = 0x10
_ITEM_PRESENTATION_CONTEXT_RQ: Final = 0x20
_ITEM_PRESENTATION_CONTEXT_AC: Final = 0x21
_ITEM_ABSTRACT_SYNTAX: Final = 0x30
_ITEM_USER_INFORMATION: Final = 0x50
_SUB_IMPLEMENTATION_UID: Final = 0x52
_SUB_ROLE_SELECTION: Final = 0x54
_SUB_IMPLEMENTATION_VERSION: Final = 0x55
_SUB_USER_IDENTITY: Final = 0x58

_SECRET_IDENTITY_TYPES: Final = {2: "username and passcode", 4: "SAML assertion", 5: "JSON web token"}
_REJECT_SOURCES: Final = {1: "service user", 2: "service provider (ACSE)", 3: "service provider (presentation)"}
_REJECT_REASONS: Final = {
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognised",
    (1, 7): "called AE title not recognised",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}


def heuristic(first_bytes: bytes) -> bool:
    """True when ``first_bytes`` start an A-ASSOCIATE-RQ or -AC: type 1/2, reserved 0, length, version 0x0001."""
    if len(first_bytes) < 10 or first_bytes[0] not in (_A_ASSOCIATE_RQ, _A_ASSOCIATE_AC) or first_bytes[1] != 0:
        return False
    length = int.from_bytes(first_bytes[2:6], "big")
    return _FIXED_FIELDS - 6 <= length <= _MAX_ASSOCIATE_LENGTH and first_bytes[6:8] == b"\x00\x01"


@dataclass(slots=True)
class _Association:
    """What one A-ASSOCIATE-RQ or -AC PDU said (only the complete parts)."""

    pdu_type: int
    called_ae: str | None
    calling_ae: str | None
    application_context: str | None = None
    abstract_syntaxes: list[str] = field(default_factory=list)
    contexts_accepted: int = 0
    contexts_answered: int = 0
    implementation_uid: str | None = None
    implementation_version: str | None = None
    roles: list[tuple[str, bool, bool]] = field(default_factory=list)  # (SOP class, SCU role, SCP role)
    identity_type: int | None = None


def _items(data: bytes, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(type, value) of the complete items (type, reserved, 2-byte length) between ``start`` and ``end``."""
    offset = start
    while offset + 4 <= end:
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if offset + 4 + length > end:
            return
        yield data[offset], data[offset + 4 : offset + 4 + length]
        offset += 4 + length


def _printable(raw: bytes) -> str | None:
    """Trimmed ASCII text of a padded field, or ``None`` if empty or not printable ASCII."""
    text = raw.strip(b" \x00")
    if not text or text.translate(None, _PRINTABLE_ASCII):  # anything left is outside 0x20..0x7E
        return None
    return text.decode("ascii")


def _uid(raw: bytes) -> str | None:
    """A UID (digits and dots, at most 64 characters, NUL padding removed), or ``None`` if it is not one."""
    text = raw.rstrip(b"\x00 ")
    if not text or len(text) > 64 or text.translate(None, b"0123456789."):  # anything left is not a UID character
        return None
    return text.decode("ascii")


def _parse_user_information(value: bytes, association: _Association) -> None:
    """Fill ``association`` from the sub-items of a user information item."""
    for sub_type, sub in _items(value, 0, len(value)):
        if sub_type == _SUB_IMPLEMENTATION_UID:
            association.implementation_uid = _uid(sub)
        elif sub_type == _SUB_IMPLEMENTATION_VERSION:
            association.implementation_version = _printable(sub)
        elif sub_type == _SUB_ROLE_SELECTION and len(sub) >= 2:
            uid_length = int.from_bytes(sub[0:2], "big")
            uid = _uid(sub[2 : 2 + uid_length])
            if uid is not None and len(sub) >= 4 + uid_length:
                association.roles.append((uid, sub[2 + uid_length] == 1, sub[3 + uid_length] == 1))
        elif sub_type == _SUB_USER_IDENTITY and sub and association.pdu_type == _A_ASSOCIATE_RQ:
            association.identity_type = sub[0]


def _parse_associate(data: bytes) -> _Association | None:
    """Parse the A-ASSOCIATE-RQ/AC at the start of ``data``; ``None`` if it does not start with one."""
    if len(data) < 42 or not heuristic(data):  # enough for both AE titles; items follow if present
        return None
    end = min(len(data), 6 + int.from_bytes(data[2:6], "big"))
    association = _Association(data[0], _printable(data[10:26]), _printable(data[26:42]))
    for item_type, value in _items(data, _FIXED_FIELDS, end):
        if item_type == _ITEM_APPLICATION_CONTEXT:
            association.application_context = _uid(value)
        elif item_type == _ITEM_PRESENTATION_CONTEXT_RQ and association.pdu_type == _A_ASSOCIATE_RQ:
            for sub_type, sub in _items(value, 4, len(value)):
                uid = _uid(sub) if sub_type == _ITEM_ABSTRACT_SYNTAX else None
                if uid is not None and uid not in association.abstract_syntaxes:
                    association.abstract_syntaxes.append(uid)
        elif item_type == _ITEM_PRESENTATION_CONTEXT_AC and len(value) >= 3:
            association.contexts_answered += 1
            association.contexts_accepted += value[2] == 0
        elif item_type == _ITEM_USER_INFORMATION:
            _parse_user_information(value, association)
    return association


def _sop_class_detail(uid: str) -> str:
    """Name and role hint of a SOP class, for evidence."""
    if uid in STORAGE_MODALITIES:
        name, modality = STORAGE_MODALITIES[uid]
        return f"{name}: sends {modality} objects (a {modality} modality, or a PACS/workstation forwarding them)"
    if uid in SOP_CLASSES:
        name, hint = SOP_CLASSES[uid]
        return f"{name}: {hint}"
    return "SOP class not in Wardwatch's table"


def _observations(payload: Payload, association: _Association) -> Iterator[Observation | Finding | None]:
    """What an A-ASSOCIATE-RQ or -AC proves about the requestor and the acceptor."""
    requestor_sent = association.pdu_type == _A_ASSOCIATE_RQ
    requestor, acceptor = (
        (payload.source, payload.destination) if requestor_sent else (payload.destination, payload.source)
    )
    pdu = "A-ASSOCIATE-RQ" if requestor_sent else "A-ASSOCIATE-AC"
    echoed = "" if requestor_sent else " (echoed)"

    recorded = payload.recorded

    def observe(endpoint: Endpoint, kind: ObservationKind, value: str, detail: str) -> Observation | None:
        if recorded is not None and recorded(endpoint, kind, value):
            return None  # the consumer has it already: skip building the evidence
        evidence = payload.evidence(PROTOCOL, f"{pdu}: {detail}")
        return Observation(endpoint, kind, intern(value), payload.seen_at, evidence)

    if association.calling_ae is not None:
        yield observe(requestor, ObservationKind.DICOM_AE_TITLE, association.calling_ae, f"calling AE title{echoed}")
    if association.called_ae is not None:
        yield observe(acceptor, ObservationKind.DICOM_AE_TITLE, association.called_ae, f"called AE title{echoed}")
    context = f", application context {association.application_context}" if association.application_context else ""
    if requestor_sent:
        yield observe(requestor, ObservationKind.DICOM_ROLE, "scu", f"association requestor{context}")
    else:
        answered = f"accepted {association.contexts_accepted} of {association.contexts_answered} presentation contexts"
        yield observe(acceptor, ObservationKind.DICOM_ROLE, "scp", f"association acceptor, {answered}{context}")
    for uid in association.abstract_syntaxes:
        yield observe(requestor, ObservationKind.DICOM_ABSTRACT_SYNTAX, uid, f"proposed; {_sop_class_detail(uid)}")
    for uid, scu_role, scp_role in association.roles:
        # In the RQ the requestor proposes its own roles; in the AC the acceptor grants them to the requestor.
        verb = "proposed" if requestor_sent else "granted"
        for role, wanted in (("scu", scu_role), ("scp", scp_role)):
            if wanted:
                yield observe(requestor, ObservationKind.DICOM_ROLE, role, f"role selection {verb} for {uid}")
    sender = payload.source
    if association.implementation_uid is not None:
        vendor = implementation_vendor(association.implementation_uid)
        stack = f"{vendor} implementation root" if vendor else "implementation root not in Wardwatch's table"
        yield observe(sender, ObservationKind.DICOM_IMPLEMENTATION_UID, association.implementation_uid, stack)
    if association.implementation_version is not None:
        yield observe(
            sender,
            ObservationKind.DICOM_IMPLEMENTATION_VERSION,
            association.implementation_version,
            "implementation version name",
        )
    if requestor_sent and not payload.tls:
        yield from _cleartext_findings(payload, association, requestor, acceptor)


def _cleartext_findings(
    payload: Payload, association: _Association, requestor: Endpoint, acceptor: Endpoint
) -> Iterator[Finding]:
    """CLEARTEXT_DICOM on the acceptor; CLEARTEXT_CREDENTIALS on the requestor if it sent a secret identity."""
    calling = association.calling_ae or "?"
    called = association.called_ae or "?"
    yield Finding(
        acceptor,
        FindingKind.CLEARTEXT_DICOM,
        f"DICOM without TLS: association {calling} -> {called}",
        payload.seen_at,
        payload.evidence(PROTOCOL, "A-ASSOCIATE-RQ on a connection without TLS"),
    )
    secret = _SECRET_IDENTITY_TYPES.get(association.identity_type or 0)
    if secret is not None:
        yield Finding(
            requestor,
            FindingKind.CLEARTEXT_CREDENTIALS,
            f"DICOM user identity negotiation sends a {secret} without TLS (AE {calling})",
            payload.seen_at,
            payload.evidence(PROTOCOL, "A-ASSOCIATE-RQ user identity sub-item"),
        )


def _rejection(payload: Payload) -> Iterator[Observation]:
    """An A-ASSOCIATE-RJ: the sender is a DICOM SCP that refused (with the reason in the evidence)."""
    data = payload.data
    if len(data) < 10 or data[1] != 0 or int.from_bytes(data[2:6], "big") != 4:
        return
    result, source, reason = data[7], data[8], data[9]
    if result not in (1, 2) or source not in _REJECT_SOURCES:
        return
    why = _REJECT_REASONS.get((source, reason), f"reason {reason}")
    permanence = "permanently" if result == 1 else "transiently"
    detail = f"A-ASSOCIATE-RJ: association acceptor {permanence} rejected by the {_REJECT_SOURCES[source]}: {why}"
    yield Observation(
        payload.source, ObservationKind.DICOM_ROLE, "scp", payload.seen_at, payload.evidence(PROTOCOL, detail)
    )


def dissect(payload: Payload) -> Result:
    """Observations and findings from the DICOM association set-up at the start of ``payload.data``."""
    data = payload.data
    if len(data) < 6 or data[0] not in _KNOWN_PDU_TYPES:
        return []
    if data[0] == _A_ASSOCIATE_RJ:
        return list(_rejection(payload))
    association = _parse_associate(data)
    if association is None:  # P-DATA-TF, A-RELEASE, A-ABORT (or not DICOM): nothing to say
        return []
    return [result for result in _observations(payload, association) if result is not None]


SPEC: Final = DissectorSpec(
    name=PROTOCOL,
    dissect=dissect,
    transport="tcp",
    ports=frozenset({104, 11112}),
    heuristic=heuristic,
)
"""DICOM on its registered ports (104, 11112) and, by the A-ASSOCIATE heuristic, on any port."""
