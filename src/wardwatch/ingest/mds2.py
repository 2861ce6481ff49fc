"""MDS2 forms (HIMSS/NEMA "Manufacturer Disclosure Statement for Medical Device Security", 2019 question set).

Two inputs:

* **XLSX as manufacturers publish it.**  Layouts vary (metadata columns repeated on each row or not, extra
  reference-standard columns, cover sheets), so the reader looks for the layout instead of assuming one: the
  sheet and column with the most cells matching a question id (``AUTH-1``, ``MPII-2.1``, ``AUDT-2.8.1``), the
  answer column to its right holding the most ``Yes``/``No``/``N/A`` cells, and a note column (headed "note",
  else the one right after the answers).
* **CSV export**: columns ``id`` (or ``question_id``), ``question``, ``answer`` and optionally ``note`` (any
  order, extra columns ignored), or the same four columns without a header.

Answers are kept as written (blank answers are left out).  Each capability below reads answers as
``Yes`` -> True, ``No`` -> False, ``N/A`` or blank or anything else -> None (text starting "Yes," / "No," counts
as yes / no).  ``first`` takes the first listed question that gives True or False; ``any`` is True when one
says yes, False only when all say no, else None.

==============================  =======  ==============================================================
capability                      rule     question ids (2019 form)
==============================  =======  ==============================================================
``authentication``              first    AUTH-1 (login prevents unauthorized access), PAUT-1
``unique_user_accounts``        first    PAUT-1 (unique IDs and passwords for all users and roles)
``multi_factor``                first    PAUT-8
``auto_logoff``                 first    ALOF-1
``encryption_at_rest``          first    STCF-1 (can encrypt data at rest)
``encryption_in_transit``       first    TXCF-2 (PII encrypted before transmission), CONN-7 (TLS)
``audit_logging``               first    AUDT-2 (events recorded in an audit log), AUDT-1
``remote_service``              any      RMOT-1, RMOT-2, RMOT-3
``malware_protection``          any      MLDP-2 (anti-malware), MLDP-4 (allow-listing), MLDP-5 (HIDS)
``anti_malware``                first    MLDP-2
``application_allowlisting``    first    MLDP-4
``sbom_available``              first    SBOM-1
``stores_phi``                  first    MPII-2.2 (persistent on internal media), MPII-2
``transmits_phi``               first    MPII-3 (mechanisms to transmit/import/export PII)
``wireless``                    any      MPII-3.6, CONN-1.1.1, CONN-1.1.2, CONN-1.1.3
``external_network``            first    MPII-3.7, CONN-4
``node_authentication``         first    NAUT-1
``network_access_control``      first    NAUT-2
``has_operating_system``        first    CSUP-2
``remote_patching``             first    CSUP-2.3
``owner_can_patch``             first    CSUP-2.1
``hardened``                    first    SAHD-1
``vulnerability_disclosure``    first    DOC-8
``emergency_access``            first    EMRG-1
==============================  =======  ==============================================================

Form metadata: manufacturer DOC-1, model DOC-3 (else DOC-2), form date DOC-7 (document release date).  The
2019 form has no question for the software version, so ``version`` comes only from a labelled cell
("Software Version: 4.2") above the questions of an XLSX.  The operating system is the first OS name
(Windows, Linux, VxWorks, QNX, Android...) in the answers or notes of CSUP-2, DOC-11.1, DOC-11.2, then any
answer or note; the end of support is the first full date written next to "end of support" / "supported
until" / "end-of-life" in RDMP-3, RDMP-4 or any note.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wardwatch.domain.intel import Mds2Form
from wardwatch.ingest._bounded import MIB
from wardwatch.ingest.errors import IngestError

logger = logging.getLogger(__name__)

__all__ = ["CAPABILITIES", "read_mds2"]

#: capability -> (rule, question ids): see the module docstring.  Policy as data.
CAPABILITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "authentication": ("first", ("AUTH-1", "PAUT-1")),
    "unique_user_accounts": ("first", ("PAUT-1",)),
    "multi_factor": ("first", ("PAUT-8",)),
    "auto_logoff": ("first", ("ALOF-1",)),
    "encryption_at_rest": ("first", ("STCF-1",)),
    "encryption_in_transit": ("first", ("TXCF-2", "CONN-7")),
    "audit_logging": ("first", ("AUDT-2", "AUDT-1")),
    "remote_service": ("any", ("RMOT-1", "RMOT-2", "RMOT-3")),
    "malware_protection": ("any", ("MLDP-2", "MLDP-4", "MLDP-5")),
    "anti_malware": ("first", ("MLDP-2",)),
    "application_allowlisting": ("first", ("MLDP-4",)),
    "sbom_available": ("first", ("SBOM-1",)),
    "stores_phi": ("first", ("MPII-2.2", "MPII-2")),
    "transmits_phi": ("first", ("MPII-3",)),
    "wireless": ("any", ("MPII-3.6", "CONN-1.1.1", "CONN-1.1.2", "CONN-1.1.3")),
    "external_network": ("first", ("MPII-3.7", "CONN-4")),
    "node_authentication": ("first", ("NAUT-1",)),
    "network_access_control": ("first", ("NAUT-2",)),
    "has_operating_system": ("first", ("CSUP-2",)),
    "remote_patching": ("first", ("CSUP-2.3",)),
    "owner_can_patch": ("first", ("CSUP-2.1",)),
    "hardened": ("first", ("SAHD-1",)),
    "vulnerability_disclosure": ("first", ("DOC-8",)),
    "emergency_access": ("first", ("EMRG-1",)),
}

MAX_CSV_BYTES = 16 * MIB
MAX_XLSX_BYTES = 256 * MIB  # uncompressed; a real form is well under 1 MB
_QUESTION_ID = re.compile(r"^[A-Z]{3,4}-\d+(?:\.\d+)*$")
_ANSWER_WORDS = frozenset({"yes", "no", "n/a", "na"})
_MIN_IDS = 5
_MAX_SHEET_ROWS = 5_000  # a real form has ~300 rows; more is not an MDS2 (and would cost memory)
_MAX_SHEET_COLUMNS = 64
_TIP = "export the MDS2 as the 2019 XLSX or as CSV with columns id, question, answer, note"
_OS = re.compile(
    r"\b(?:Microsoft\s+)?Windows(?:\s+(?:Embedded|IoT|Server|Enterprise|LTSC|LTSB|Standard|Professional|Pro"
    r"|CE|XP|Vista|NT|\d{1,4}(?:\.\d)?|R2|SP\d|Compact))*"
    r"|\b(?:Embedded\s+)?Linux(?:\s+(?:kernel\s+)?\d+(?:\.\d+)*)?|\bVxWorks(?:\s+\d+(?:\.\d+)*)?"
    r"|\bQNX(?:\s+\d+(?:\.\d+)*)?|\bAndroid(?:\s+\d+(?:\.\d+)*)?|\bmacOS(?:\s+\d+(?:\.\d+)*)?"
    r"|\b(?:Red Hat Enterprise Linux|RHEL|Ubuntu|Debian|CentOS|Yocto)(?:\s+\d+(?:\.\d+)*)?",
    re.IGNORECASE,
)
_SUPPORT = re.compile(r"end[\s-]+of[\s-]+(?:support|life|service)|supported\s+(?:until|through)|support\s+ends?",
                      re.IGNORECASE)  # fmt: skip
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y")
_DATE_IN_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}\.\d{1,2}\.\d{4}|[A-Z][a-z]+ \d{1,2}, \d{4}"
)


class _Row:
    """One answered question as read, with where it was (for error messages)."""

    __slots__ = ("answer", "id", "note", "row")

    def __init__(self, row: int, qid: str, answer: str, note: str) -> None:
        self.row = row
        self.id = qid
        self.answer = answer
        self.note = note


def read_mds2(path: Path) -> Mds2Form:
    """Read an MDS2 form (XLSX or CSV, chosen by content) into an :class:`Mds2Form`."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
        size = path.stat().st_size
    except OSError as e:
        raise IngestError(name, f"cannot be opened ({e.strerror or e})", tip="check the path") from e
    if magic == b"PK\x03\x04":
        rows, version = _xlsx_rows(path)
    else:
        if size > MAX_CSV_BYTES:
            raise IngestError(name, f"is larger than {MAX_CSV_BYTES // MIB} MiB", tip="this is not an MDS2 form")
        rows, version = _csv_rows(path), None
    return _form(name, rows, version)


def _form(name: str, rows: list[_Row], version: str | None) -> Mds2Form:
    answers: dict[str, str] = {}
    notes: dict[str, str] = {}
    first_row: dict[str, _Row] = {}
    for row in rows:
        if row.id in first_row:
            if first_row[row.id].answer != row.answer:
                raise IngestError(name, f"answers {row.id} twice, differently ({first_row[row.id].answer!r} at row "
                                  f"{first_row[row.id].row}, {row.answer!r} here)", row=row.row, column="answer",
                                  tip="fix the form so each question has one answer")  # fmt: skip
            continue
        first_row[row.id] = row
        if row.answer:
            answers[row.id] = row.answer
        if row.note:
            notes[row.id] = row.note
    if len(first_row) < _MIN_IDS:
        raise IngestError(name, f"has {len(first_row)} MDS2 question ids (like AUTH-1), expected dozens", tip=_TIP)
    date_row = first_row.get("DOC-7")
    return Mds2Form(
        manufacturer=answers.get("DOC-1"),
        model=answers.get("DOC-3") or answers.get("DOC-2"),
        version=version,
        form_date=_date(answers.get("DOC-7"), name, date_row.row if date_row else None),
        answers=answers,
        capabilities={key: _capability(rule, ids, answers) for key, (rule, ids) in CAPABILITIES.items()},
        operating_system=_operating_system(answers, notes),
        end_of_support=_end_of_support(answers, notes),
    )


def _yes_no(answer: str | None) -> bool | None:
    """``Yes`` -> True, ``No`` -> False, anything else (``N/A``, blank, free text) -> None."""
    if answer is None:
        return None
    word = re.split(r"[\s,;.:(\-]", answer.strip().lower(), maxsplit=1)[0]
    return True if word == "yes" else False if word == "no" else None


def _capability(rule: str, ids: tuple[str, ...], answers: dict[str, str]) -> bool | None:
    values = [_yes_no(answers.get(qid)) for qid in ids]
    if rule == "first":
        return next((value for value in values if value is not None), None)
    if any(value is True for value in values):
        return True
    return None if any(value is None for value in values) else False


def _operating_system(answers: dict[str, str], notes: dict[str, str]) -> str | None:
    preferred = ("CSUP-2", "DOC-11.1", "DOC-11.2")
    texts = [text for qid in preferred for text in (answers.get(qid), notes.get(qid)) if text]
    texts += [text for qid, text in [*answers.items(), *notes.items()] if qid not in preferred]
    for text in texts:
        if match := _OS.search(text):
            return match.group(0).strip()
    return None


def _end_of_support(answers: dict[str, str], notes: dict[str, str]) -> date | None:
    preferred = ("RDMP-3", "RDMP-4")
    texts = [text for qid in preferred for text in (answers.get(qid), notes.get(qid)) if text]
    texts += [text for qid, text in notes.items() if qid not in preferred]
    for text in texts:
        if (label := _SUPPORT.search(text)) and (found := _DATE_IN_TEXT.search(text, label.end())):
            parsed = _parse_date(found.group(0))
            if parsed is not None:
                return parsed
    return None


def _parse_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    return None


def _date(text: str | None, name: str, row: int | None) -> date | None:
    if text is None:
        return None
    parsed = _parse_date(text.split(" ")[0] if re.match(r"\d{4}-\d{2}-\d{2} ", text) else text)
    if parsed is None:
        logger.warning("%s, row %s: release date %r is not a date; form_date left empty", name, row, text)
    return parsed


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


# --- CSV -------------------------------------------------------------------------------------------------

_ID_HEADERS = ("id", "question_id", "question id", "qid", "questionid")


def _csv_rows(path: Path) -> list[_Row]:
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("cp1252", errors="replace")
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise IngestError(name, f"is not valid CSV ({e})", tip=_TIP) from e
    if not table:
        raise IngestError(name, "is empty", tip=_TIP)
    header = [cell.strip().lower() for cell in table[0]]
    if _QUESTION_ID.match(table[0][0].strip() if table[0] else ""):
        columns, start = {"id": 0, "answer": 2, "note": 3}, 0
    else:
        qid = next((header.index(h) for h in _ID_HEADERS if h in header), None)
        answer = header.index("answer") if "answer" in header else None
        if qid is None or answer is None:
            raise IngestError(name, "has no 'id' and 'answer' columns", row=1, tip=_TIP)
        note = next((i for i, h in enumerate(header) if h in ("note", "notes", "comment", "comments")), -1)
        columns, start = {"id": qid, "answer": answer, "note": note}, 1
    rows: list[_Row] = []
    for number, cells in enumerate(table[start:], start=start + 1):
        qid_text = _get(cells, columns["id"])
        if not qid_text:
            continue
        if not _QUESTION_ID.match(qid_text):
            raise IngestError(name, f"{qid_text[:40]!r} is not an MDS2 question id (like AUTH-1)", row=number,
                              column="id", tip=_TIP)  # fmt: skip
        rows.append(_Row(number, qid_text, _get(cells, columns["answer"]), _get(cells, columns["note"])))
    return rows


def _get(cells: Sequence[Any], index: int) -> str:
    return _cell_text(cells[index]) if 0 <= index < len(cells) else ""


# --- XLSX ------------------------------------------------------------------------------------------------


def _xlsx_rows(path: Path) -> tuple[list[_Row], str | None]:
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            # zipfile never yields more than a member's declared size, so the declared total bounds memory.
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_BYTES:
                raise IngestError(name, f"expands to more than {MAX_XLSX_BYTES // MIB} MiB",
                                  tip="this is not a plausible MDS2 form")  # fmt: skip
    except zipfile.BadZipFile as e:
        raise IngestError(name, "is not a valid XLSX file (damaged zip archive)", tip="re-save it from Excel") from e
    import openpyxl  # noqa: PLC0415 - slow import, only needed for XLSX

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for damaged files
        raise IngestError(name, f"is not a readable XLSX file ({type(e).__name__})", tip="re-save it in Excel") from e
    try:
        best: tuple[int, list[list[str]], int] | None = None
        for sheet in book.worksheets:
            table: list[list[str]] = []
            for cells in sheet.iter_rows(max_col=_MAX_SHEET_COLUMNS, values_only=True):
                if len(table) >= _MAX_SHEET_ROWS:
                    raise IngestError(name, f"has more than {_MAX_SHEET_ROWS:,} rows in sheet {sheet.title!r}",
                                      tip="this is not a plausible MDS2 form")  # fmt: skip
                table.append([_cell_text(value) for value in cells])
            # Distinct ids per column: a model number like "EVP-200" repeated on every row also looks like an id.
            distinct = {(i, text) for cells in table for i, text in enumerate(cells) if _QUESTION_ID.match(text)}
            counts = Counter(i for i, _ in distinct)
            if counts:
                column, count = counts.most_common(1)[0]
                if best is None or count > best[0]:
                    best = (count, table, column)
    except IngestError:
        raise
    except Exception as e:  # a damaged sheet part surfaces while streaming
        raise IngestError(name, f"is damaged ({type(e).__name__})", tip="re-save it from Excel") from e
    finally:
        book.close()
    if best is None or best[0] < _MIN_IDS:
        raise IngestError(name, "has no sheet with MDS2 question ids (like AUTH-1)", tip=_TIP)
    _, table, id_column = best
    return _table_rows(name, table, id_column), _version(table)


def _table_rows(name: str, table: list[list[str]], id_column: int) -> list[_Row]:
    id_rows = [i for i, cells in enumerate(table) if _QUESTION_ID.match(_get(cells, id_column))]
    width = max(len(table[i]) for i in id_rows)
    answer_counts = Counter(
        column
        for i in id_rows
        for column in range(id_column + 1, width)
        if _get(table[i], column).lower() in _ANSWER_WORDS
    )
    if not answer_counts:
        raise IngestError(name, "has no column of Yes/No answers next to the question ids", column="answer", tip=_TIP)
    answer_column = answer_counts.most_common(1)[0][0]
    header = _header(table, id_rows[0], id_column)
    note_column = next((c for c in range(answer_column + 1, width) if "note" in _get(header, c).lower()), None)
    if note_column is None:
        note_column = answer_column + 1
    logger.debug("%s: ids in column %d, answers %d, notes %d", name, id_column, answer_column, note_column)
    return [
        _Row(i + 1, _get(table[i], id_column), _get(table[i], answer_column), _get(table[i], note_column))
        for i in id_rows
    ]


def _header(table: list[list[str]], first_id_row: int, id_column: int) -> list[str]:
    """The nearest row above the first question that has text in the id column (e.g. "Question ID")."""
    for i in range(first_id_row - 1, -1, -1):
        if _get(table[i], id_column):
            return table[i]
    return []


def _version(table: Iterable[list[str]]) -> str | None:
    for cells in table:
        for i, text in enumerate(cells):
            label = text.lower().rstrip(":").strip()
            if label in ("software version", "firmware version", "software/firmware version", "version"):
                value = next((cell for cell in cells[i + 1 :] if cell), "")
                if value:
                    return value
            elif match := re.match(r"(?i)(?:software|firmware)\s+version\s*:\s*(\S.*)", text):
                return match.group(1).strip()
    return None
