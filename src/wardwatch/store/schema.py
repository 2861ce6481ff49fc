"""The database tables (SQLAlchemy Core).  Changes go through an Alembic migration in ``migrations/versions``.

Table rows are not domain types: repositories convert between the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

UTC_DATETIME = DateTime(timezone=True)


def _BYTEWISE(length: int) -> String:  # noqa: N802 - reads as a type
    """Text compared byte by byte (identifiers, not prose): collation "C" on PostgreSQL, SQLite's default."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("code", String(50)),
    Column("created_at", UTC_DATETIME, nullable=False),
)

units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("building", String(200)),
    Column("department", String(200), nullable=False),
    Index("ix_units_site_department", "site_id", "department"),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(500), nullable=False),
    Column("sha256", String(64)),
    Column("imported_at", UTC_DATETIME, nullable=False),
    Column("row_count", Integer),
    Column("summary", JSON),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), index=True),
    Column("unit_id", Integer, ForeignKey("units.id"), index=True),
    Column("location", String(200)),
    Column("asset_tag", String(100)),  # looked up through device_keys, which knows every alias
    Column("serial", String(100)),
    Column("manufacturer", String(200), index=True),
    Column("model", String(200)),
    Column("device_type", String(50), index=True),
    Column("fda_product_code", String(3)),
    Column("fda_class", String(2)),
    Column("os_name", String(200)),
    Column("os_version", String(100)),
    Column("firmware_version", String(100)),
    Column("software_version", String(100)),
    Column("criticality", String(20), index=True),
    Column("patient_connected", Boolean),
    Column("handles_phi", Boolean),
    Column("high_risk", Boolean),
    Column("owner_team", String(200)),
    Column("lifecycle_status", String(20)),
    Column("in_service_date", Date),
    Column("end_of_support", Date),
    Column("end_of_life", Date),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("updated_at", UTC_DATETIME, nullable=False),
)

interfaces = Table(
    "interfaces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("mac", String(17)),  # looked up through device_keys
    Column("ip", String(45), index=True),
    Column("hostname", String(253)),
    Column("vlan", Integer),
    Column("source_kind", String(20), nullable=False),
)

device_keys = Table(
    "device_keys",
    metadata,
    Column("kind", _BYTEWISE(20), primary_key=True),
    Column("value", _BYTEWISE(300), primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True),
)
"""The identity index: each asset tag, (manufacturer, serial) and MAC points at exactly one device."""

claims = Table(
    "claims",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("source_kind", String(20), primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("locator", String(500)),
    Column("observed_at", UTC_DATETIME, nullable=False),
    Column("payload", Text, nullable=False),
    Column("digest", String(32), nullable=False),
    sqlite_with_rowid=False,
)
"""Evidence: what each kind of source says about each device, attribute by attribute (``domain.claims``).

``payload`` is JSON text, ``{"attribute": [value, confidence, (source_id, locator, time)]}`` — text rather than
JSONB because PostgreSQL's JSONB parsing doubled the time of a 200,000-device import; cast it in SQL to query.
One row per device and kind keeps a 200,000-device import to a few hundred thousand rows."""

device_history = Table(
    "device_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("attribute", String(40), nullable=False),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("source_id", Integer, ForeignKey("sources.id"), index=True),
    Column("changed_at", UTC_DATETIME, nullable=False),
)

# --- passive discovery (revision 0002) ------------------------------------------------------------------------

observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("value", Text, nullable=False),
    Column("protocol", String(40), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("locator", String(200), nullable=False),
    Column("detail", Text),
    Column("first_seen", UTC_DATETIME, nullable=False),
    Column("last_seen", UTC_DATETIME, nullable=False),
    Column("count", Integer, nullable=False),
    UniqueConstraint("device_id", "kind", "value"),
)
"""What discovery saw about a device: each distinct (kind, value) once, with its first evidence and a count."""

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False, index=True),
    Column("detail", Text, nullable=False),
    Column("protocol", String(40), nullable=False),
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("locator", String(200), nullable=False),
    Column("first_seen", UTC_DATETIME, nullable=False),
    Column("last_seen", UTC_DATETIME, nullable=False),
    Column("count", Integer, nullable=False),
    UniqueConstraint("device_id", "kind", "detail"),
)
"""Insecure behaviour proven from traffic (SMBv1, PHI in clear, external peers...)."""

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_ip", String(45), nullable=False),
    Column("server_ip", String(45), nullable=False),
    Column("transport", String(8), nullable=False),
    Column("port", Integer, nullable=False),
    Column("client_device_id", Integer, ForeignKey("devices.id", ondelete="SET NULL"), index=True),
    Column("server_device_id", Integer, ForeignKey("devices.id", ondelete="SET NULL"), index=True),
    Column("protocol", String(40)),
    Column("packets", Integer, nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("first_seen", UTC_DATETIME, nullable=False),
    Column("last_seen", UTC_DATETIME, nullable=False),
    UniqueConstraint("client_ip", "server_ip", "transport", "port"),
)
"""The communication baseline: who talks to whom on which service, summed over every capture and log."""

# --- vulnerability findings (revision 0003) -----------------------------------------------------------------------

vulnerability_findings = Table(
    "vulnerability_findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("vulnerability_id", _BYTEWISE(80), nullable=False),
    Column("component_ref", _BYTEWISE(300), nullable=False),  # "" = the device itself
    Column("source", String(300), nullable=False),
    Column("confidence", String(12), nullable=False),
    Column("vex_status", String(24)),
    Column("suppressed", Boolean, nullable=False),
    Column("in_kev", Boolean, nullable=False),
    Column("epss", Float),
    Column("epss_percentile", Float),
    Column("cvss_score", Float),
    Column("cvss_vector", String(300)),
    Column("detail", Text, nullable=False),  # JSON: the full finding as ``services.intel`` renders it
    Column("first_seen", UTC_DATETIME, nullable=False),
    Column("last_seen", UTC_DATETIME, nullable=False),
    Column("resolved_at", UTC_DATETIME),  # set when a re-match no longer finds it; cleared if it comes back
    Column("digest", String(32)),  # of ``detail``: a re-match rewrites a row only when its content changed
    UniqueConstraint("device_id", "vulnerability_id", "component_ref"),
    Index("ix_vulnerability_findings_vulnerability_id", "vulnerability_id"),
)
"""What the intelligence says about each device: one row per (device, vulnerability or recall, component)."""

intel_records = Table(
    "intel_records",
    metadata,
    Column("vulnerability_id", _BYTEWISE(80), primary_key=True),
    Column("digest", String(32), nullable=False),
    sqlite_with_rowid=False,
)
"""Content digest of each NVD / CVE 5 record as of the last match: an NVD delta re-matches only what changed."""

intel_files = Table(
    "intel_files",
    metadata,
    Column("name", _BYTEWISE(300), primary_key=True),  # "<kind>/<stored file name>"
    Column("kind", String(20), nullable=False),
    Column("matched_at", UTC_DATETIME, nullable=False),
    sqlite_with_rowid=False,
)
"""The stored intelligence files the findings were last matched against."""

intel_state = Table(
    "intel_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Matching bookkeeping (``matched_at``: when the inventory was last matched)."""

sbom_links = Table(
    "sbom_links",
    metadata,
    Column("vendor_key", _BYTEWISE(200), primary_key=True),
    Column("model_key", _BYTEWISE(300), primary_key=True),
    Column("manufacturer", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("sbom", String(300), nullable=False),  # "<kind>/<stored file name>"
    Column("linked_by", String(20), nullable=False),  # "metadata" or "explicit"
    Column("linked_at", UTC_DATETIME, nullable=False),
)
"""Which SBOM describes which device model: every device of the model gets the SBOM's component findings."""

# --- risk (revision 0004) -----------------------------------------------------------------------------------------

risk_explanations = Table(
    "risk_explanations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", String(32), nullable=False, unique=True),  # BLAKE2b-128 of ``explanation``
    Column("explanation", Text, nullable=False),  # JSON: summary, matrix, score, likelihood, severity, ssvc, findings
    Column("policy_version", String(20), nullable=False),
)
"""Explanations of scores, each distinct text once: devices with the same inputs share one (200,000 devices of a
few thousand models have ~12,000 distinct explanations; storing them per device wrote 300 MB per rescore)."""

risk_scores = Table(
    "risk_scores",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Float, nullable=False),
    Column("level", String(20), nullable=False),
    Column("likelihood", Integer, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("ssvc", String(20), nullable=False),
    Column("ssvc_vulnerability", String(80)),
    # No foreign key: PostgreSQL checks one per inserted row (+3 s per 200,000); services.risk writes both tables in
    # one transaction and deletes only explanations no score uses.
    Column("explanation_id", Integer, nullable=False, index=True),
    Column("policy_version", String(20), nullable=False),
    Column("scored_at", UTC_DATETIME, nullable=False),
    Index("ix_risk_scores_score", "score"),
)
"""Each device's current risk (``domain.risk``), with the policy version it was scored under."""

risk_snapshots = Table(
    "risk_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False),
    Column("dimension", String(20), nullable=False),  # all | site | unit | type | manufacturer | model
    Column("key", String(300), nullable=False),
    Column("devices", Integer, nullable=False),
    Column("mean_score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("levels", Text, nullable=False),  # JSON: level name -> device count
    Column("priorities", Text, nullable=False),  # JSON: SSVC priority -> device count
    Column("policy_version", String(20), nullable=False),
    UniqueConstraint("day", "dimension", "key"),
)
"""Daily rollups of ``risk_scores``, for trends."""

rubric_answers = Table(
    "rubric_answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("manufacturer", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("vulnerability_id", _BYTEWISE(80), nullable=False),  # "" = every vulnerability of the model
    Column("answers", Text, nullable=False),  # JSON: rubric question code -> answer
    Column("answered_by", String(200), nullable=False),
    Column("answered_at", UTC_DATETIME, nullable=False),
    UniqueConstraint("manufacturer", "model", "vulnerability_id"),
)
"""Medical-device CVSS rubric answers per device model, and per (model, vulnerability)."""

risk_acceptances = Table(
    "risk_acceptances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("vulnerability_id", _BYTEWISE(80)),  # NULL = the whole device
    Column("approver", String(200), nullable=False),
    Column("justification", Text, nullable=False),
    Column("controls", Text, nullable=False),  # JSON list of compensating controls
    Column("expires_on", Date, nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("revoked_at", UTC_DATETIME),
)
"""Risk acceptances (exceptions): a device or one finding accepted until ``expires_on``."""

# --- accounts and jobs (revision 0005) ----------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", _BYTEWISE(100), nullable=False, unique=True),
    Column("display_name", String(200)),
    Column("role", String(20), nullable=False),
    Column("unit", String(200)),  # a clinician's department: the devices they see
    Column("auth_provider", String(20), nullable=False),  # "local" today; "oidc" / "saml" later
    Column("password_hash", String(200)),  # argon2id; NULL for accounts an external provider authenticates
    Column("disabled", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTC_DATETIME),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("last_login_at", UTC_DATETIME),
)
"""Local accounts: one role each; passwords only as argon2id hashes; locked for a while after repeated failures."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the token; the token is not kept
    Column("prefix", String(16), nullable=False),  # the first characters, to recognise a token in a list
    Column("scopes", Text, nullable=False),  # space-separated permissions
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("expires_at", UTC_DATETIME),
    Column("last_used_at", UTC_DATETIME),
    Column("revoked_at", UTC_DATETIME),
)
"""Bearer tokens for machines: a token acts for its user, narrowed to its scopes."""

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the session cookie's value
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("expires_at", UTC_DATETIME, nullable=False),
)
"""Browser sessions: the cookie holds a random value, the table only its hash and the session's CSRF token."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTC_DATETIME, nullable=False, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False, index=True),
    Column("target", String(300)),
    Column("outcome", String(20), nullable=False),
    Column("detail", Text),
    Column("address", String(45)),
    Column("prev_hash", String(64), nullable=False),  # hex SHA-256 of the entry before (64 zeros for the first)
    Column("entry_hash", String(64), nullable=False),  # hex SHA-256 of prev_hash + this entry (services.audit)
)
"""Who did what, when, to what, and whether it worked.  Append-only: the migration adds triggers that refuse
UPDATE and DELETE on both databases; and hash-chained, so a change made behind the triggers' back is found."""

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("progress", Float, nullable=False),
    Column("message", Text),
    Column("input", Text),  # JSON: what the job works on (uploaded file, options)
    Column("result", Text),  # JSON: its report when it succeeded
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("started_at", UTC_DATETIME),
    Column("finished_at", UTC_DATETIME),
    Column("attempts", Integer, nullable=False, server_default="0"),  # revision 0013: runs started so far
    Column("error", Text),  # the last failure, kept when a retry succeeds or the job is cancelled
    Column("cancel_requested_by", String(100)),  # asked to stop: the handler stops at its next progress report
)
"""Background work (uploads processed, later feed syncs and rescoring) with its progress and outcome."""

# --- device-model security capabilities (revision 0006) -----------------------------------------------------------

model_security = Table(
    "model_security",
    metadata,
    Column("vendor_key", _BYTEWISE(200), primary_key=True),
    Column("model_key", _BYTEWISE(300), primary_key=True),
    Column("manufacturer", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("form", String(300), nullable=False),  # "mds2/<stored file name>"
    Column("form_date", Date),
    Column("version", String(100)),
    Column("operating_system", String(200)),
    Column("end_of_support", Date),
    Column("capabilities", Text, nullable=False),  # JSON: capability -> true / false / null (the form is silent)
    Column("answers", Text, nullable=False),  # JSON: question id -> answer as written
    Column("linked_by", String(20), nullable=False),  # "metadata" (the form's DOC-1/DOC-3) or "explicit" (--model)
    Column("linked_at", UTC_DATETIME, nullable=False),
)
"""A device model's security capabilities from its manufacturer's MDS2 form: shown on its devices' pages and read
by risk scoring (rubric defaults, compensating controls, OS and end of support when the inventory lacks them)."""

network_files = Table(
    "network_files",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),  # rules: file order, then rule order
    Column("kind", String(20), nullable=False),  # yaml, iptables, cisco
    Column("original", String(300), nullable=False),  # the file name it was imported from
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),  # the file itself: the model travels with the database
    Column("imported_at", UTC_DATETIME, nullable=False),
)
"""The network model's files (zones YAML, iptables-save, Cisco ACLs) in evaluation order: one set per hospital,
replaced as a whole by ``wardwatch network import``."""

# --- clinical alarm assurance (revision 0007) ------------------------------------------------------------------

alarm_topologies = Table(
    "alarm_topologies",
    metadata,
    Column("id", Integer, primary_key=True),  # the topology's version: the highest id is the current one
    Column("name", String(300), nullable=False),
    Column("original", String(300), nullable=False),  # the file name it was imported from
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),  # the YAML itself
    Column("nodes", Integer, nullable=False),
    Column("links", Integer, nullable=False),
    Column("groups", Integer, nullable=False),
    Column("sources", Integer, nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", UTC_DATETIME, nullable=False),
)
"""Every imported alarm topology (YAML), kept: a verification names the version it checked."""

alarm_budgets = Table(
    "alarm_budgets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit", String(200), nullable=False),  # "*" for every unit
    Column("alarm_type", String(100), nullable=False),  # "*" for every type
    Column("priority", String(10), nullable=False),  # high, medium, low
    Column("version", Integer, nullable=False),
    Column("max_delivery_s", Float, nullable=False),
    Column("primary_recipients", Text, nullable=False),  # JSON list of node ids
    Column("escalation_recipients", Text, nullable=False),  # JSON list of node ids
    Column("escalate_after_s", Float),
    Column("confirmed", Boolean, nullable=False),
    Column("heartbeat_interval_s", Float),
    Column("heartbeat_misses", Integer, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("status", String(12), nullable=False),  # draft, approved, superseded, withdrawn
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("approved_by", String(200)),
    Column("approved_at", UTC_DATETIME),
    UniqueConstraint("unit", "alarm_type", "priority", "version"),
)
"""Clinicians' delivery budgets, versioned: one row per version; the approved one is in force."""

alarm_verifications = Table(
    "alarm_verifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("topology_id", Integer, ForeignKey("alarm_topologies.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("k", Integer, nullable=False),
    Column("flows", Integer, nullable=False),
    Column("failing", Integer, nullable=False),
    Column("report", Text, nullable=False),  # the JSON report (results, single points of failure, recommendations)
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
)
"""Verification runs: the evidence of which topology and budgets were proven, when and by whom."""

alarm_deliveries = Table(
    "alarm_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(200), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("sent_at", UTC_DATETIME, nullable=False, index=True),
    Column("received_at", UTC_DATETIME),  # NULL: lost
    Column("acknowledged_at", UTC_DATETIME),
    Column("latency_s", Float),
    Column("unit", String(200), index=True),
    Column("priority", String(10)),
    Column("alarm_type", String(100)),
    Column("heartbeat", Boolean, nullable=False),
    Column("path", String(300)),
    Column("origin", String(300), nullable=False),
    Column("imported_at", UTC_DATETIME, nullable=False),
    UniqueConstraint("source", "recipient", "sent_at"),
)
"""Observed alarm deliveries (test and heartbeat alarms, probe results); re-importing a file adds nothing twice."""

# --- remediation workflow (revision 0009) -------------------------------------------------------------------------

manufacturer_validations = Table(
    "manufacturer_validations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("manufacturer", _BYTEWISE(200), nullable=False),
    Column("model", _BYTEWISE(200), nullable=False),
    Column("fix", _BYTEWISE(200), nullable=False),  # the patch or version the manufacturer judged
    Column("status", String(20), nullable=False),  # validated, not-validated, rejected
    Column("document", Text, nullable=False),  # the source: bulletin title, reference or URL
    Column("note", Text, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UTC_DATETIME, nullable=False),
    UniqueConstraint("manufacturer", "model", "fix"),
)
"""Whether a manufacturer validated a patch or version for one model, with its source document."""

remediation_items = Table(
    "remediation_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", _BYTEWISE(400), nullable=False, unique=True),  # model|manufacturer|model|CVE or device|id|CVE
    Column("scope", String(10), nullable=False),  # model, device
    Column("manufacturer", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), index=True),  # device scope
    Column("vulnerability_id", _BYTEWISE(80), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("devices", Integer, nullable=False),  # how many devices the item covers
    Column("state", String(30), nullable=False, index=True),
    Column("priority", String(20), nullable=False),  # SSVC: immediate, out-of-cycle, scheduled, defer
    Column("opened_at", UTC_DATETIME, nullable=False),
    Column("due_at", UTC_DATETIME),  # from the SLA of the priority
    Column("updated_at", UTC_DATETIME, nullable=False),
    Column("closed_at", UTC_DATETIME),
    Column("assignee", String(200)),
    Column("fix", String(200)),  # the patch or version to apply
    Column("validation_id", Integer, ForeignKey("manufacturer_validations.id", ondelete="SET NULL")),
    Column("scheduled_for", UTC_DATETIME),
    Column("controls", Text),  # JSON list of compensating controls (mitigated)
    Column("acceptance_id", Integer, ForeignKey("risk_acceptances.id", ondelete="SET NULL")),
)
"""Remediation work items: one per device model x vulnerability (or per device), through the workflow states."""

remediation_events = Table(
    "remediation_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("remediation_items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTC_DATETIME, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("from_state", String(30)),
    Column("to_state", String(30), nullable=False),
    Column("note", Text, nullable=False),
    Column("detail", Text),  # JSON: what the step recorded (validation, schedule, controls, acceptance)
)
"""Every step of every work item: who moved it, when, from which state to which, and why."""

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit", String(200), nullable=False, index=True),
    Column("starts_at", UTC_DATETIME, nullable=False),
    Column("ends_at", UTC_DATETIME, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
)
"""When a unit can spare devices for patching (agreed with its clinical lead)."""

# --- governance (revision 0010) -----------------------------------------------------------------------------------

training_records = Table(
    "training_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(200), nullable=False, index=True),  # an account's login or a person's name
    Column("role", String(20), nullable=False),  # the Wardwatch role whose required courses it counts towards
    Column("course", String(100), nullable=False),  # a course id of data/governance/training.yaml, or free text
    Column("completed_on", Date, nullable=False),
    Column("expires_on", Date),  # NULL: does not expire
    Column("evidence", Text, nullable=False),  # certificate reference, LMS export, note ("" when none)
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UTC_DATETIME, nullable=False),
    Index("ix_training_records_course_expires_on", "course", "expires_on"),
)
"""Who completed which cybersecurity training, when, and until when it counts (``services.governance``)."""

# --- incidents (revision 0011) ------------------------------------------------------------------------------------

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("playbook", String(40), nullable=False),
    Column("title", String(300), nullable=False),
    Column("status", String(20), nullable=False, index=True),  # open, contained, closed
    Column("severity", String(20), nullable=False),  # critical, high, medium, low
    Column("opened_by", String(200), nullable=False),
    Column("opened_at", UTC_DATETIME, nullable=False),
    Column("closed_at", UTC_DATETIME),
    Column("parameters", Text, nullable=False),  # JSON: the playbook run's parameters (seed, manufacturer, recall)
    Column("snapshot", Text, nullable=False),  # JSON: the playbook run at opening (affected devices, steps...)
)
"""Incidents opened from a playbook run, with what the run found when it was opened (``services.incidents``)."""

incident_actions = Table(
    "incident_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTC_DATETIME, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("step", String(200), nullable=False),  # a playbook step id, an isolation step id or free text
    Column("note", Text, nullable=False),
    Column("done", Boolean, nullable=False),
)
"""What was done during an incident, by whom and when: the incident's record."""

# --- report schedules (revision 0012) -----------------------------------------------------------------------------

report_schedules = Table(
    "report_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report", String(10), nullable=False),  # board, audit
    Column("format", String(10), nullable=False),  # pdf, html
    Column("cadence", String(10), nullable=False),  # daily, weekly, monthly
    Column("at_hour", Integer, nullable=False),  # 0-23, UTC
    Column("weekday", Integer),  # weekly: 0 (Monday) - 6 (Sunday)
    Column("day", Integer),  # monthly: 1-28
    Column("recipients", Text, nullable=False),  # JSON list of e-mail addresses ("[]" for none)
    Column("folder", String(500)),  # a folder under the Wardwatch home, relative to it (NULL: none)
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTC_DATETIME, nullable=False),
    Column("last_run_at", UTC_DATETIME),
    Column("next_run_at", UTC_DATETIME, nullable=False, index=True),
    Column("last_status", String(20)),  # delivered, failed (NULL: not run yet)
    Column("last_error", Text),
    Column("enabled", Boolean, nullable=False),
)
"""Reports delivered on a cadence by e-mail and/or into a folder (``services.report_schedules``, the job runner)."""
