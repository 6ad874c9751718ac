"""Consents in bulk from a form export (issue 16, item 3): every line a row or a rejection, no value echoed.

All numbers are invented (German mobile numbers with made-up subscriber digits); nothing is real data.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactvault.consent.bulk import (
    RECORDED_BY_PLACEHOLDER,
    BulkConsents,
    ConsentRow,
    RejectedRow,
    parse_consents,
    read_consents,
)
from contactvault.errors import ImportFailed, InvalidRegion

HEADER = "phone,purpose,granted_at,channel,notice_id,notice_version,evidence"


def _number(i: int) -> str:
    return f"+49151{20000000 + i}"


def _line(i: int, **changes: str) -> str:
    values = {
        "phone": _number(i),
        "purpose": "newsletter",
        "granted_at": "2025-03-01T10:00:00+01:00",
        "channel": "web_form",
        "notice_id": "privacy",
        "notice_version": "2025-01",
        "evidence": f"submission {i}",
    } | changes
    return ",".join(values.values())


def _file(lines: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def _text_of(result: BulkConsents) -> str:
    return "\n".join(f"{r.line} {r.field} {r.reason}" for r in result.rejected) + repr(result)


# --- good files ------------------------------------------------------------------------------------------


def test_200_good_rows_are_200_consents(tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text(_file([_line(i) for i in range(200)]), encoding="utf-8")
    result = read_consents(path)
    assert result.ok
    assert result.rejected == ()
    assert len(result.rows) == 200
    assert [row.line for row in result.rows] == list(range(2, 202))
    first = result.rows[0]
    assert first.phone_e164 == _number(0)
    assert first.contact_ref is None
    consent = first.consent
    assert consent.purpose == "newsletter"
    assert consent.granted_at == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert consent.channel == "web_form"
    assert (consent.notice_id, consent.notice_version) == ("privacy", "2025-01")
    assert consent.evidence_ref == "submission 0"
    assert consent.recorded_by == RECORDED_BY_PLACEHOLDER
    assert _number(0) not in repr(first)  # the number stays out of repr()


def test_three_bad_rows_are_named_and_nothing_personal_is_said() -> None:
    lines = [_line(i) for i in range(200)]
    bad_phone = "0151 99"
    lines[9] = _line(9, granted_at="2025-13-45")
    lines[99] = _line(99, channel="carrier_pigeon")
    lines[149] = _line(149, phone=bad_phone)
    result = parse_consents(_file(lines), name="forms.csv")
    assert not result.ok
    assert len(result.rows) == 197
    assert result.rejected_lines == (11, 101, 151)
    assert [(r.line, r.field) for r in result.rejected] == [
        (11, "granted_at"),
        (101, "channel"),
        (151, "phone"),
    ]
    assert all(r.reason for r in result.rejected)
    said = "\n".join(r.reason for r in result.rejected)
    for value in ("2025-13-45", "carrier_pigeon", "pigeon", bad_phone, "99", "submission", "newsletter"):
        assert value not in said
    for i in range(200):
        assert _number(i) not in said
        assert _number(i)[3:] not in said


def test_a_contact_id_stands_instead_of_a_phone() -> None:
    full = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
    text = _file(
        [
            "1a2b3c4d,newsletter,2025-03-01,email,privacy,1,",
            f"{str(full).upper()},newsletter,2025-03-01,email,privacy,1,",
            "1a2b3c4,newsletter,2025-03-01,email,privacy,1,",  # seven digits: too short
            "+49151 2345678,newsletter,2025-03-01,email,privacy,1,",
        ],
        header="Contact,purpose,granted_at,channel,notice_id,notice_version,evidence",
    )
    result = parse_consents(text)
    assert [(row.line, row.contact_ref, row.phone_e164) for row in result.rows] == [
        (2, "1a2b3c4d", None),
        (3, full.hex, None),
    ]
    assert [(r.line, r.field) for r in result.rejected] == [(4, "contact"), (5, "contact")]
    assert result.rows[0].consent.evidence_ref is None


def test_a_date_without_time_is_midnight_in_the_given_zone() -> None:
    text = _file([_line(0, granted_at="2025-03-01"), _line(1, granted_at="2025-07-01")])
    berlin = ZoneInfo("Europe/Berlin")
    result = parse_consents(text, timezone=berlin)
    assert result.ok
    winter, summer = (row.consent.granted_at for row in result.rows)
    assert winter == datetime(2025, 3, 1, tzinfo=berlin) == datetime(2025, 2, 28, 23, tzinfo=UTC)
    assert summer == datetime(2025, 6, 30, 22, tzinfo=UTC)
    utc = parse_consents(text).rows[0].consent.granted_at
    assert utc == datetime(2025, 3, 1, tzinfo=UTC)


def test_times_need_a_zone_and_must_not_lie_in_the_future() -> None:
    tomorrow_plus = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    result = parse_consents(
        _file(
            [
                _line(0, granted_at="2025-03-01T10:00:00Z"),
                _line(1, granted_at="2025-03-01T10:00:00"),
                _line(2, granted_at=tomorrow_plus),
                _line(3, granted_at="yesterday"),
                _line(4, granted_at="2025-03-01 10:00+02:00"),
            ]
        )
    )
    assert [row.line for row in result.rows] == [2, 6]
    assert result.rows[1].consent.granted_at == datetime(2025, 3, 1, 8, tzinfo=UTC)
    reasons = {r.line: r.reason for r in result.rejected}
    assert set(reasons) == {3, 4, 5}
    assert "zone" in reasons[3]
    assert "future" in reasons[4]


def test_a_german_excel_export_semicolons_and_bom() -> None:
    text = (
        "Phone; Purpose ;Granted_At;Channel;Notice_ID;Notice_Version;Evidence\r\n"
        '0151 20000001;newsletter;01.03.2025;written;datenschutz;3;"Formular 17; unterschrieben, Büro"\r\n'
        ";;;;;;\r\n"
        "0151 20000002;Newsletter;02.03.2025;written;datenschutz;3;\r\n"
    )
    data = codecs.BOM_UTF8 + text.encode("utf-8")
    result = parse_consents(data, name="Einwilligungen.csv", default_region="DE")
    assert result.ok, result.rejected
    assert [(row.line, row.phone_e164) for row in result.rows] == [
        (2, "+4915120000001"),
        (4, "+4915120000002"),
    ]
    first, second = (row.consent for row in result.rows)
    assert first.evidence_ref == "Formular 17; unterschrieben, Büro"
    assert first.granted_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert second.purpose == "newsletter"
    assert second.evidence_ref is None
    # The same file as Excel's "CSV (Trennzeichen-getrennt)" writes it: Windows-1252, no BOM.
    ansi = parse_consents(text.encode("cp1252"), default_region="DE")
    assert ansi.rows[0].consent.evidence_ref == "Formular 17; unterschrieben, Büro"


def test_national_numbers_need_a_region() -> None:
    text = _file([_line(0, phone="0151 20000001")])
    assert parse_consents(text, default_region="DE").rows[0].phone_e164 == "+4915120000001"
    result = parse_consents(text)
    assert [(r.line, r.field) for r in result.rejected] == [(2, "phone")]
    assert "region" in result.rejected[0].reason
    with pytest.raises(InvalidRegion):
        parse_consents(text, default_region="XX")


def test_evidence_column_is_optional_and_columns_come_in_any_order() -> None:
    text = (
        "notice_version,channel,PHONE,notice_id,granted_at,purpose\n"
        "2025-01,email,+4915120000001,p,2025-03-01,ads\n"
    )
    result = parse_consents(text)
    assert result.ok
    consent = result.rows[0].consent
    assert (consent.purpose, consent.channel, consent.notice_id, consent.evidence_ref) == (
        "ads",
        "email",
        "p",
        None,
    )


def test_every_problem_of_a_row_is_named_in_column_order() -> None:
    line = "+4915120000001,Bad Purpose!,,fax,,," + "e" * 1_001
    result = parse_consents(_file([line]))
    assert [r.field for r in result.rejected] == [
        "purpose",
        "granted_at",
        "channel",
        "notice_id",
        "notice_version",
        "evidence",
    ]
    assert {r.line for r in result.rejected} == {2}
    assert "Bad Purpose" not in _text_of(result)
    assert "fax" not in _text_of(result)


def test_a_duplicate_names_the_first_line() -> None:
    lines = [
        _line(0),
        _line(1),
        _line(0, granted_at="2025-03-01T09:00:00Z", evidence="again"),  # the same instant
        _line(0, purpose="ads"),
    ]
    result = parse_consents(_file(lines))
    assert [row.line for row in result.rows] == [2, 3, 5]
    assert result.rejected == (RejectedRow(4, "row", "duplicate of line 2"),)


def test_broken_rows_are_rejected_as_a_whole() -> None:
    lines = [
        _line(0) + ",surplus",
        _line(1) + ",,",  # empty cells beyond the header are harmless
        _line(2),
        _line(3, evidence='"never closed'),
        "more",
    ]
    result = parse_consents(_file(lines))
    assert [row.line for row in result.rows] == [3, 4]
    assert [(r.line, r.field) for r in result.rejected] == [(2, "row"), (5, "row")]
    assert "lines 5-6" in result.rejected[1].reason
    assert "surplus" not in _text_of(result)


def test_a_column_without_header_must_stay_empty() -> None:
    header = HEADER + ","
    result = parse_consents(_file([_line(0) + ",", _line(1) + ",note"], header=header))
    assert [row.line for row in result.rows] == [2]
    assert [(r.line, r.field) for r in result.rejected] == [(3, "row")]


def test_a_header_only_file_holds_no_consent() -> None:
    assert parse_consents(HEADER + "\n") == BulkConsents((), ())


# --- file-level problems ---------------------------------------------------------------------------------


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "secret-folder" / "forms.csv"
    path.parent.mkdir()
    path.write_text("phone,purpose,channel,notice_id\n+4915120000001,ads,email,p\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        read_consents(str(path))
    message = str(caught.value)
    assert message.startswith("forms.csv: ")
    assert "granted_at" in message
    assert "notice_version" in message
    assert "secret-folder" not in message
    assert "4915120000001" not in message


def test_neither_phone_nor_contact() -> None:
    with pytest.raises(ImportFailed, match=r"missing columns: phone \(or contact\)$"):
        parse_consents("purpose,granted_at,channel,notice_id,notice_version\n")


def test_a_file_without_header_names_no_value() -> None:
    with pytest.raises(ImportFailed) as caught:
        parse_consents(_line(0) + "\n" + _line(1) + "\n")
    message = str(caught.value)
    assert "positions 1, 2, 3, 4, 5, 6, 7" in message
    for value in (_number(0), "newsletter", "web_form", "submission", "privacy"):
        assert value not in message


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER + ",name", "unknown columns at positions 8"),
        (HEADER + ",Phone", "the column phone appears twice"),
        (HEADER + ",contact", "both a phone and a contact column"),
    ],
)
def test_header_problems(header: str, expected: str) -> None:
    with pytest.raises(ImportFailed, match=expected):
        parse_consents(_file([_line(0)], header=header))


@pytest.mark.parametrize(
    "data",
    [b"", b"\n\n   \n", codecs.BOM_UTF8, b"\x00\x01\x02binary", b"BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n"],
)
def test_empty_and_non_csv_input(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match=r"^consents\.csv: not a"):
        parse_consents(data, name="consents.csv")
    path = tmp_path / "consents.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFailed, match=r"^consents\.csv: not a"):
        read_consents(path)


def test_a_missing_file_is_import_failed(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match=r"^nowhere\.csv: cannot read file"):
        read_consents(tmp_path / "nowhere.csv")
    with pytest.raises(ImportFailed, match=r"^nowhere\.txt: cannot read file"):
        read_consents(str(tmp_path / "nowhere.txt"))  # a str is always a path here, never the text


def test_a_consent_row_names_one_person() -> None:
    consent = parse_consents(_file([_line(0)])).rows[0].consent
    with pytest.raises(ValueError, match="not both"):
        ConsentRow(2, consent)
    with pytest.raises(ValueError, match="not both"):
        ConsentRow(2, consent, phone_e164=_number(0), contact_ref="1a2b3c4d")


# --- Hypothesis ------------------------------------------------------------------------------------------


def _accounted(result: BulkConsents) -> set[int]:
    """Every line that became a row or a rejection; no line is both."""
    rows = [row.line for row in result.rows]
    assert len(rows) == len(set(rows))
    assert not set(rows) & set(result.rejected_lines)
    for rejection in result.rejected:
        assert rejection.reason
    return set(rows) | set(result.rejected_lines)


@given(st.binary(max_size=2_000))
def test_junk_bytes_are_a_result_or_import_failed(data: bytes) -> None:
    try:
        result = parse_consents(data)
    except ImportFailed:
        return
    _accounted(result)


@given(st.binary(max_size=2_000))
def test_junk_after_a_good_header_is_a_result_or_import_failed(data: bytes) -> None:
    try:
        result = parse_consents(HEADER.encode() + b"\n" + data)
    except ImportFailed:
        return
    assert min(_accounted(result), default=2) >= 2


_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            _number(1),
            "0151 20000003",
            "newsletter",
            "Ads",
            "2025-03-01",
            "01.03.2025",
            "2025-03-01T10:00Z",
            "2025-03-01T10:00",
            "web_form",
            "email",
            "v1",
            '"',
            ",",
            ";",
            "\n",
            "\r\n",
        ]
    ),
    st.text(st.characters(codec="utf-8"), max_size=30),
)


@given(
    st.permutations(HEADER.split(",")),
    st.lists(st.lists(_CELLS, max_size=9), max_size=30),
    st.sampled_from([None, "DE"]),
)
def test_every_data_line_is_a_row_or_a_rejection(
    columns: list[str], rows: list[list[str]], region: str | None
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # "\r" and "\n" in a cell are quoted
    writer.writerow([f" {c.upper()} " if len(c) % 2 else c for c in columns])
    writer.writerows(rows)
    result = parse_consents(out.getvalue().encode("utf-8"), default_region=region)
    non_blank = [row for row in rows if any(cell.strip() for cell in row)]
    assert len(_accounted(result)) == len(non_blank)
    for rejection in result.rejected:
        assert "20000001" not in rejection.reason
        assert "20000003" not in rejection.reason
