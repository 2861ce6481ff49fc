"""The MITRE "Rubric for Applying CVSS to Medical Devices" (v0.12.04) as data plus its decision flow.

METHODS.md section 1. The question set, extended-vector codes and decision logic follow the MITRE-hosted
calculator (``mitre/md-cvss-rubric-tools`` @ 973bd759, ``sheet1.xml`` C9-H18). The answer *tree* of 1.3 is
authoritative: a question the flow does not reach is recorded in the extended vector but never scored (the
sheet's AV formula can read such off-path answers, e.g. a stale XAVP=NO on the network branch).

Rules beyond the calculator:

* **An unanswered question on the flow counts as UNKNOWN**, and UNKNOWN counts as the worse case. With a
  ``base_vector``, a base metric none of whose questions was answered keeps the base vector's value instead.
* **Calculator defects 1-3 are corrected by default** (:data:`CORRECTED`); :data:`CALCULATOR` reproduces them:
  1. XCPM is used: readable PHI of fewer than 500 patients (XCPM=NO) gives C:L; YES/UNKNOWN give C:H
     (the rubric text is unverified; this is policy, as in ``osamusic/med-cvss``).
  2. The availability "Low" branch reads XAT, not the sheet's typo XIO.
  3. UNKNOWN (or unanswered) grid cells count as HIGH, not None.
  Defect 4 (uncapped score) is never reproduced: scores come from the ``cvss`` library.
* XPRS=UNKNOWN gives PR:N as in the calculator: more severe than either answer, so still conservative.
* Scores use CVSS v3.0 by default, the rubric's base standard (METHODS.md 3.4); the metric values are the
  same in v3.1.

Errors::

    RubricError (ValueError)   unknown question code, answer not offered for it, or a base vector that is not v3
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from wardwatch.domain.cvss_scoring import CvssError, CvssScore, Version, normalise_vector, score
from wardwatch.domain.inventory import ClinicalProfile, Criticality

__all__ = [
    "CALCULATOR",
    "CORRECTED",
    "GRID",
    "QUESTIONS",
    "RUBRIC_VERSION",
    "AssetCategory",
    "DefaultAnswer",
    "Question",
    "RubricError",
    "RubricPolicy",
    "RubricResult",
    "answers_of",
    "apply_rubric",
    "default_caps",
    "defaults_for",
    "exceeds_caps",
    "format_extended",
    "layer_answers",
    "normalise_answers",
    "parse_extended",
]

#: The rubric version the question set and logic come from.
RUBRIC_VERSION = "0.12.04"

YES, NO, UNKNOWN = "YES", "NO", "UNKNOWN"
HIGH, LOW, NONE = "HIGH", "LOW", "NONE"
_YNU = (YES, NO, UNKNOWN)
_HLNU = (HIGH, LOW, NONE, UNKNOWN)
#: Short forms used in the extended vector (``XAVN:Y``); U stands for UNKNOWN.
_SHORT = {YES: "Y", NO: "N", UNKNOWN: "U", HIGH: "H", LOW: "L", NONE: "N"}


class RubricError(ValueError):
    """Answers or a base vector the rubric cannot use; the message names the code and what is allowed."""


@dataclass(frozen=True, slots=True)
class Question:
    """One rubric question."""

    code: str
    """Extended-vector code, e.g. ``XAVN``."""
    metric: str
    """The CVSS v3 base metric it decides: AV, AC, PR, UI, S, C, I or A."""
    text: str
    """Exact wording from the MITRE-hosted calculator (METHODS.md 1.2)."""
    answers: tuple[str, ...]
    """Allowed answers, in display order."""


class AssetCategory(StrEnum):
    """The six data/functionality categories of the C/I/A grid."""

    PHI = "PHI/PII data"
    DIAGNOSIS_MONITORING = "data or functionality related to diagnosis or monitoring"
    THERAPY = "data or functionality related to the delivery of therapy"
    CLINICAL_WORKFLOW = "data or functionality related to clinical workflow"
    SECRETS = "private system or system-user data, e.g. passwords or private keys"
    OTHER = "any other kind of critical, sensitive data or functionality"


#: The 6 x 3 grid: category -> (C code, I code, A code).
GRID: dict[AssetCategory, tuple[str, str, str]] = {
    AssetCategory.PHI: ("XCP", "XIP", "XAP"),
    AssetCategory.DIAGNOSIS_MONITORING: ("XCD", "XID", "XAD"),
    AssetCategory.THERAPY: ("XCT", "XIT", "XAT"),
    AssetCategory.CLINICAL_WORKFLOW: ("XCW", "XIW", "XAW"),
    AssetCategory.SECRETS: ("XCS", "XIS", "XAS"),
    AssetCategory.OTHER: ("XCO", "XIO", "XAO"),
}

_READ, _MODIFY, _INACCESSIBLE = "read/exposed", "modified/deleted", "rendered inaccessible"


def _grid_questions() -> list[Question]:
    out = [
        Question("XCP", "C", "Can this data be read?", _YNU),
        Question(
            "XCPM",
            "C",
            "Can the exposed data cover a large number of patients, e.g. 500 or more, which may force regulatory "
            "action or data breach notification (e.g. HIPAA, GDPR)?",
            _YNU,
        ),
        Question("XIP", "I", "Can this data be modified/deleted?", _HLNU),
        Question("XAP", "A", "Can this data be rendered inaccessible?", _HLNU),
    ]
    for category, codes in GRID.items():
        if category is AssetCategory.PHI:
            continue
        for metric, code, verb in zip("CIA", codes, (_READ, _MODIFY, _INACCESSIBLE), strict=True):
            out.append(Question(code, metric, f"Can {category.value} be {verb}?", _HLNU))
    return out


#: Every question in calculator order: AV, AC, PR, UI, S, then the C/I/A grid.
QUESTIONS: tuple[Question, ...] = (
    Question(
        "XAVN",
        "AV",
        "Q1. Can the attacker utilize some type of network or communication protocol to exploit this vulnerability?",
        _YNU,
    ),
    Question("XAVT", "AV", "Q2. Does the network use OSI layer 3 or 4 protocols, e.g. IP, TCP/IP, or UDP?", _YNU),
    Question("XAVW", "AV", "Q3. Is the communication over a wireless channel?", _YNU),
    Question("XAVR", "AV", "Q4. Is the range approximately 10 feet or less?", (YES, NO)),
    Question("XAVP", "AV", "Q5. Must the attacker have physical contact with the device?", _YNU),
    Question(
        "XAVPA",
        "AV",
        'Q5.1. Is the device accessed through a "human-user interface," i.e. a user interface intended for manual '
        "operation by device users?",
        _YNU,
    ),
    Question(
        "XACL",
        "AC",
        "Q1. Can the attacker attempt to exploit the vulnerability at will, i.e., without requiring any special "
        "circumstances, configurations, or use of other vulnerabilities or attacks before attacking this "
        "vulnerability?",
        _YNU,
    ),
    Question(
        "XPRL",
        "PR",
        "Q1. Does the device/component use an authorization model that supports login for multiple different users "
        "or roles with different privilege levels?",
        _YNU,
    ),
    Question(
        "XPRZ",
        "PR",
        "Q2. Before attempting to exploit the vulnerability, must the attacker be authorized to the affected "
        "component?",
        _YNU,
    ),
    Question(
        "XPRS",
        "PR",
        "Q3. Must the attacker have administrator, maintainer, or other system-level privileges to attempt to "
        "exploit the vulnerability?",
        _YNU,
    ),
    Question(
        "XUI",
        "UI",
        "Q1. To successfully exploit the vulnerability, must the attacker depend on another user or victim to "
        "perform an action or otherwise interact with the system?",
        _YNU,
    ),
    Question(
        "XS",
        "S",
        'Q1. Can the attacker affect a component whose authority ("authorization scope") is different than that '
        "of the vulnerable component?",
        _YNU,
    ),
    *_grid_questions(),
)

_BY_CODE: dict[str, Question] = {q.code: q for q in QUESTIONS}
_METRICS = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")
_CODES_BY_METRIC: dict[str, tuple[str, ...]] = {m: tuple(q.code for q in QUESTIONS if q.metric == m) for m in _METRICS}


@dataclass(frozen=True, slots=True)
class RubricPolicy:
    """Which calculator defects (METHODS.md 1.3) to correct; the default corrects all three."""

    use_phi_scale: bool = True
    """Defect 1: XCPM=NO turns readable PHI into C:L instead of C:H."""
    fix_availability_typo: bool = True
    """Defect 2: the A "Low" branch reads XAT (therapy availability), not XIO (other-data integrity)."""
    unknown_impact_is_high: bool = True
    """Defect 3: UNKNOWN or unanswered grid cells (and XCP) count as HIGH instead of None."""

    @property
    def name(self) -> str:
        """``corrected``, ``calculator`` or ``custom``."""
        if self == CORRECTED:
            return "corrected"
        if self == CALCULATOR:
            return "calculator"
        return "custom"


#: The default: every known calculator defect corrected.
CORRECTED = RubricPolicy()
#: Bug-for-bug with the MITRE-hosted calculator's C/I/A formulas (e.g. to compare with its exported results).
CALCULATOR = RubricPolicy(use_phi_scale=False, fix_availability_typo=False, unknown_impact_is_high=False)


@dataclass(frozen=True, slots=True)
class RubricResult:
    """The rubric-adjusted CVSS v3 base vector, its score and why each metric has its value."""

    metrics: Mapping[str, str]
    """Base metric -> value letter, e.g. ``{"AV": "N", ...}``."""
    vector: str
    """The adjusted vector with prefix, plus any temporal/environmental metrics of the base vector."""
    score: CvssScore
    """The scores of :attr:`vector`."""
    extended_vector: str
    """:attr:`vector` followed by every answered question, e.g. ``.../XAVN:Y/XAVT:N/XCT:H``."""
    explanations: Mapping[str, str]
    """Base metric -> one sentence in words, naming the answers it rests on."""
    policy: RubricPolicy
    """The defect corrections that were applied."""


@dataclass(frozen=True, slots=True)
class DefaultAnswer:
    """An answer derived from a device model's clinical profile or MDS2 form, with its reason."""

    code: str
    """Question code."""
    answer: str
    """One of the question's allowed answers."""
    reason: str
    """Why, naming the profile field or MDS2 capability."""


def normalise_answers(answers: Mapping[str, str]) -> dict[str, str]:
    """Validate and upper-case answers; short forms ``Y``/``N``/``U``/``H``/``L`` are accepted.

    For grid cells ``N`` means NONE; for yes/no questions it means NO.
    """
    out: dict[str, str] = {}
    for raw_code, raw in answers.items():
        code = raw_code.strip().upper()
        question = _BY_CODE.get(code)
        if question is None:
            raise RubricError(f"unknown rubric question {raw_code!r}; known codes: {', '.join(_BY_CODE)}")
        value = raw.strip().upper()
        longs = {_SHORT[a]: a for a in question.answers}
        value = longs.get(value, value)
        if value not in question.answers:
            raise RubricError(f"answer {raw!r} not offered for {code}; allowed: {', '.join(question.answers)}")
        out[code] = value
    return out


def layer_answers(*layers: Mapping[str, str]) -> dict[str, str]:
    """Merge answer sets, later layers winning: e.g. model defaults, model answers, (model, vuln) answers."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(normalise_answers(layer))
    return merged


class _Answers:
    """Lookup that records what each decision read; unanswered counts as UNKNOWN."""

    def __init__(self, answers: dict[str, str]) -> None:
        self._answers = answers

    def get(self, code: str) -> str:
        return self._answers.get(code, UNKNOWN)

    def answered(self, code: str) -> bool:
        return code in self._answers

    def show(self, *codes: str) -> str:
        parts = []
        for code in codes:
            value = self._answers.get(code)
            parts.append(f"{code}={value}" if value else f"{code} not answered")
        return ", ".join(parts)


def _worse(a: _Answers, *codes: str) -> str:
    return "; unknown counts as the worse case" if any(a.get(c) == UNKNOWN for c in codes) else ""


def _attack_vector(a: _Answers) -> tuple[str, str]:
    if a.get("XAVN") == UNKNOWN:
        return "N", f"AV:N because network exploitation cannot be ruled out ({a.show('XAVN')}{_worse(a, 'XAVN')})"
    if a.get("XAVN") == YES:
        if a.get("XAVT") != NO:
            why = a.show("XAVN", "XAVT") + _worse(a, "XAVT")
            return "N", f"AV:N because the device is reachable over a routed (OSI layer 3/4, e.g. IP) network ({why})"
        if a.get("XAVW") != YES:
            why = a.show("XAVN", "XAVT", "XAVW") + _worse(a, "XAVW")
            return "A", f"AV:A because the attack needs a non-routed link, e.g. serial or a proprietary bus ({why})"
        if a.get("XAVR") == YES:
            why = a.show("XAVN", "XAVT", "XAVW", "XAVR")
            return "L", f"AV:L because the wireless channel reaches only about 10 feet, e.g. NFC or inductive ({why})"
        why = a.show("XAVN", "XAVT", "XAVW", "XAVR") + _worse(a, "XAVR")
        return "A", f"AV:A because the attack uses a wireless channel of more than about 10 feet ({why})"
    if a.get("XAVP") == YES:
        why = a.show("XAVN", "XAVP", "XAVPA") + "; XAVPA is recorded but does not change the value"
        return "P", f"AV:P because the attacker must have physical contact with the device ({why})"
    why = a.show("XAVN", "XAVP") + _worse(a, "XAVP")
    return "L", f"AV:L because the attack needs local access but no network and no physical contact ({why})"


def _attack_complexity(a: _Answers) -> tuple[str, str]:
    if a.get("XACL") == NO:
        return "H", f"AC:H because exploitation needs special circumstances or other attacks first ({a.show('XACL')})"
    why = a.show("XACL") + _worse(a, "XACL")
    return "L", f"AC:L because the attacker can attempt the exploit at will ({why})"


def _privileges(a: _Answers) -> tuple[str, str]:
    if a.get("XPRL") != YES:
        why = a.show("XPRL") + _worse(a, "XPRL")
        return "N", f"PR:N because the component has no multi-user, multi-privilege login model ({why})"
    if a.get("XPRZ") != YES:
        why = a.show("XPRL", "XPRZ") + _worse(a, "XPRZ")
        return "N", f"PR:N because the attacker needs no authorization before exploiting ({why})"
    if a.get("XPRS") == YES:
        why = a.show("XPRL", "XPRZ", "XPRS")
        return "H", f"PR:H because the attacker needs administrator or other system-level privileges ({why})"
    if a.get("XPRS") == NO:
        why = a.show("XPRL", "XPRZ", "XPRS")
        return "L", f"PR:L because ordinary user privileges suffice ({why})"
    why = a.show("XPRL", "XPRZ", "XPRS")
    return "N", f"PR:N because the privileges needed are unknown, scored as none as in the calculator ({why})"


def _user_interaction(a: _Answers) -> tuple[str, str]:
    if a.get("XUI") == YES:
        return "R", f"UI:R because another user or victim must act ({a.show('XUI')})"
    why = a.show("XUI") + _worse(a, "XUI")
    return "N", f"UI:N because no other user needs to act ({why})"


def _scope(a: _Answers) -> tuple[str, str]:
    if a.get("XS") == NO:
        return "U", f"S:U because only the vulnerable component's authority is affected ({a.show('XS')})"
    why = a.show("XS") + _worse(a, "XS")
    return "C", f"S:C because the attacker can affect a component under a different authority ({why})"


_RANK = {"H": 2, "L": 1, "N": 0}


def _cell(a: _Answers, code: str, policy: RubricPolicy) -> str:
    value = a.get(code)
    if value == UNKNOWN:
        return "H" if policy.unknown_impact_is_high else "N"
    return _SHORT[value]


def _phi_cell(a: _Answers, policy: RubricPolicy) -> tuple[str, str]:
    readable = a.get("XCP")
    if readable == NO:
        return "N", "PHI cannot be read"
    if readable == UNKNOWN:
        if policy.unknown_impact_is_high:
            return "H", "whether PHI can be read is unknown (worse case)"
        return "N", "whether PHI can be read is unknown (calculator: ignored)"
    if not policy.use_phi_scale:
        return "H", "PHI can be read (calculator: XCPM ignored)"
    if a.get("XCPM") == NO:
        return "L", "PHI of fewer than 500 patients can be read"
    return "H", "PHI of 500 or more patients can be read" + _worse(a, "XCPM")


_METRIC_WORDS = {"C": "confidentiality", "I": "integrity", "A": "availability"}
_LEVEL_WORDS = {"H": "total or critical", "L": "partial", "N": "no"}


def _impact(a: _Answers, metric: str, policy: RubricPolicy) -> tuple[str, str]:
    column = "CIA".index(metric)
    drivers: list[tuple[str, str, str]] = []  # (value, code, category words)
    if metric == "C":
        value, words = _phi_cell(a, policy)
        drivers.append((value, "XCP", words))
    for category, codes in GRID.items():
        if metric != "C" or category is not AssetCategory.PHI:
            code = codes[column]
            drivers.append((_cell(a, code, policy), code, category.value))
    if metric == "A" and not policy.fix_availability_typo:
        # Calculator defect 2: its "Low" branch reads H13 (XIO) where E14 (XAT) was meant.
        high = any(value == "H" for value, _, _ in drivers)
        drivers = [d for d in drivers if d[1] != "XAT" or d[0] == "H"]
        drivers.append((_cell(a, "XIO", policy), "XIO", "other-data integrity, read by the calculator's typo"))
        if high:
            drivers = [d for d in drivers if d[1] != "XIO"]
    level = max((d[0] for d in drivers), key=_RANK.__getitem__)
    answered = [c for c in _CODES_BY_METRIC[metric] if a.answered(c)]
    shown = a.show(*answered) if answered else "no grid answers"
    if level == "N":
        return "N", f"{metric}:N because no category suffers a {_METRIC_WORDS[metric]} loss ({shown})"
    causes = "; ".join(f"{code}: {words}" for value, code, words in drivers if value == level)
    text = f"{metric}:{level} because of a {_LEVEL_WORDS[level]} loss of {_METRIC_WORDS[metric]} ({causes}) ({shown})"
    if policy.unknown_impact_is_high and any(a.get(c) == UNKNOWN for v, c, _ in drivers if v == level):
        text += "; unknown counts as the worse case"
    return level, text


def apply_rubric(
    answers: Mapping[str, str],
    base_vector: str | None = None,
    *,
    policy: RubricPolicy = CORRECTED,
    version: Version | None = None,
    defaults: Mapping[str, str] | None = None,
) -> RubricResult:
    """Turn rubric answers into a CVSS v3 base vector, its score and an explanation per metric.

    ``base_vector`` (e.g. the supplier's or NVD's) supplies the base metrics none of whose questions was
    answered, and its temporal/environmental metrics are carried over. ``version`` defaults to the base
    vector's, else ``3.0`` (the rubric's base standard).

    ``defaults`` are a device model's default answers (:func:`defaults_for`). Under a metric an analyst answered,
    they fill the questions the analyst left open. Under a metric only the defaults touch, and with a base vector,
    they can only *lower* it: the rubric's decision over the defaults (unanswered questions at their worse case)
    is the most severe value the device allows, and the base vector's value is kept unless it is more severe than
    that. A model fact ("no network interface") rules values out; raising a supplier's metric needs an analyst.
    """
    given = normalise_answers(answers)
    model = {k: v for k, v in normalise_answers(defaults or {}).items() if k not in given}
    merged = {**model, **given}
    a = _Answers(merged)
    base: dict[str, str] = {}
    extra: list[str] = []
    if base_vector is not None:
        try:
            parsed = score(base_vector, default_version=version or "3.0")
        except CvssError as e:
            raise RubricError(f"base vector {base_vector!r} is invalid: {e}") from e
        if parsed.version == "4.0":
            raise RubricError(f"base vector {base_vector!r} is CVSS v4.0; the rubric decides CVSS v3 base metrics")
        version = version or parsed.version
        for part in parsed.vector.split("/")[1:]:
            key, value = part.split(":", 1)
            if key in _METRICS:
                base[key] = value
            else:
                extra.append(part)
    metrics: dict[str, str] = {}
    explanations: dict[str, str] = {}
    for metric in _METRICS:
        codes = _CODES_BY_METRIC[metric]
        user = any(code in given for code in codes)
        if base and not user and not any(code in model for code in codes):
            metrics[metric] = base[metric]
            explanations[metric] = f"{metric}:{base[metric]} taken from the supplied base vector (no rubric answers)"
            continue
        value, text = _DECIDERS[metric](a) if metric in _DECIDERS else _impact(a, metric, policy)
        if base and not user:
            value, text = _capped(metric, base[metric], value, text)
        metrics[metric] = value
        explanations[metric] = text
    body = "/".join([*(f"{m}:{metrics[m]}" for m in _METRICS), *extra])
    _, vector = normalise_vector(body, version or "3.0")
    scored = score(vector)
    return RubricResult(
        metrics=metrics,
        vector=scored.vector,
        score=scored,
        extended_vector=format_extended(scored.vector, merged),
        explanations=explanations,
        policy=policy,
    )


_DECIDERS: dict[str, Callable[[_Answers], tuple[str, str]]] = {
    "AV": _attack_vector,
    "AC": _attack_complexity,
    "PR": _privileges,
    "UI": _user_interaction,
    "S": _scope,
}
#: Base metric values from the least to the most severe.
_SEVERITY: dict[str, str] = {"AV": "PLAN", "AC": "HL", "PR": "HLN", "UI": "RN", "S": "UC", "C": "NLH", "I": "NLH",
                             "A": "NLH"}  # fmt: skip


def _capped(metric: str, supplied: str, bound: str, why: str) -> tuple[str, str]:
    """The supplier's value unless the model's defaults rule it out (then the most severe value they allow)."""
    order = _SEVERITY[metric]
    if order.index(supplied) <= order.index(bound):
        return supplied, (
            f"{metric}:{supplied} taken from the supplied base vector; the model's defaults allow up to "
            f"{metric}:{bound} ({why})"
        )
    return bound, f"{metric}:{bound}, lowered from the supplied {metric}:{supplied} by the model's defaults: {why}"


def format_extended(vector: str, answers: Mapping[str, str]) -> str:
    """``vector`` followed by the answered questions in rubric order, e.g. ``.../XAVN:Y/XAVT:N``."""
    given = normalise_answers(answers)
    parts = [f"{q.code}:{_SHORT[given[q.code]]}" for q in QUESTIONS if q.code in given]
    return "/".join([vector, *parts])


def parse_extended(text: str) -> tuple[str, dict[str, str]]:
    """Split an extended vector into its CVSS vector and the rubric answers (full words).

    >>> parse_extended("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XAVN:Y/XCT:U")[1]
    {'XAVN': 'YES', 'XCT': 'UNKNOWN'}
    """
    cvss_parts: list[str] = []
    answers: dict[str, str] = {}
    for part in text.strip().split("/"):
        key, _, value = part.partition(":")
        if key.upper() in _BY_CODE:
            answers[key.upper()] = value
        else:
            cvss_parts.append(part)
    return "/".join(cvss_parts), normalise_answers(answers)


_NETWORK_CAPABILITIES = ("remote_service", "external_network", "wireless", "transmits_phi")
#: All "No" on the form: the device has no network or wireless interface and no remote service.
_OFFLINE_CAPABILITIES = ("remote_service", "external_network", "wireless")
_NO_THERAPY = (Criticality.DIAGNOSTIC, Criticality.MONITORING, Criticality.NON_CLINICAL)


def defaults_for(
    clinical_profile: ClinicalProfile, mds2_capabilities: Mapping[str, bool | None]
) -> dict[str, DefaultAnswer]:
    """Default answers for a device model, only where its profile or MDS2 form gives evidence.

    Everything else is left unanswered, which :func:`apply_rubric` counts as UNKNOWN (worse case). The
    defaults are per model; vulnerability-specific questions (AC, PR Q2/Q3, UI, S) never get one.
    """
    caps = mds2_capabilities
    out: dict[str, DefaultAnswer] = {}

    def put(code: str, answer: str, reason: str) -> None:
        out[code] = DefaultAnswer(code, answer, reason)

    networked = [c for c in _NETWORK_CAPABILITIES if caps.get(c) is True]
    if networked:
        put("XAVN", YES, f"MDS2 reports network communication ({', '.join(networked)})")
    elif all(caps.get(c) is False for c in _OFFLINE_CAPABILITIES):
        put("XAVN", NO, f"MDS2 reports no network communication ({'=No, '.join(_OFFLINE_CAPABILITIES)}=No)")
    routed = [c for c in ("remote_service", "external_network") if caps.get(c) is True]
    if routed:
        put("XAVT", YES, f"MDS2 reports IP connectivity beyond the device ({', '.join(routed)})")
    if caps.get("authentication") is False:
        put("XPRL", NO, "MDS2 says no login controls access to the device (authentication=No)")
    elif caps.get("authentication") is True and caps.get("unique_user_accounts") is True:
        put("XPRL", YES, "MDS2 reports login with unique user accounts (authentication, unique_user_accounts)")
    _phi_defaults(clinical_profile, caps, put)
    criticality = clinical_profile.criticality
    if criticality in _NO_THERAPY:
        for code in GRID[AssetCategory.THERAPY]:
            put(code, NONE, f"the device delivers no therapy (criticality={criticality})")
    if criticality is Criticality.NON_CLINICAL:
        for code in GRID[AssetCategory.DIAGNOSIS_MONITORING]:
            put(code, NONE, "the device has no diagnostic or monitoring function (criticality=non-clinical)")
    return out


def _phi_defaults(
    profile: ClinicalProfile, caps: Mapping[str, bool | None], put: Callable[[str, str, str], None]
) -> None:
    if profile.handles_phi is False:
        reason = "the clinical profile says the device handles no PHI (handles_phi=False)"
    elif caps.get("stores_phi") is False and caps.get("transmits_phi") is False:
        reason = "MDS2 says the device neither stores nor transmits PHI (stores_phi=No, transmits_phi=No)"
    else:
        return
    put("XCP", NO, reason)
    put("XIP", NONE, reason)
    put("XAP", NONE, reason)


def answers_of(defaults: Iterable[DefaultAnswer]) -> dict[str, str]:
    """The plain ``code -> answer`` mapping of some defaults, for :func:`apply_rubric` or :func:`layer_answers`."""
    return {d.code: d.answer for d in defaults}


def default_caps(defaults: Mapping[str, str], policy: RubricPolicy = CORRECTED) -> dict[str, str]:
    """The most severe value each base metric can take under a model's defaults alone, for the metrics where that
    is below the metric's most severe value: what :func:`apply_rubric` would lower a supplier's vector to."""
    if not defaults:
        return {}
    decided = apply_rubric({}, None, policy=policy, defaults=defaults).metrics
    out: dict[str, str] = {}
    for metric, value in decided.items():
        touched = any(code in defaults for code in _CODES_BY_METRIC[metric])
        if touched and value != _SEVERITY[metric][-1]:
            out[metric] = value
    return out


def exceeds_caps(vector: str, caps: Mapping[str, str]) -> bool:
    """Whether a CVSS v3 vector has a metric more severe than ``caps`` allow (then the defaults would lower it)."""
    for part in vector.split("/")[1:]:
        key, _, value = part.partition(":")
        cap = caps.get(key)
        if cap is not None and _SEVERITY[key].index(value) > _SEVERITY[key].index(cap):
            return True
    return False
