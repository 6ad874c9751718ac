"""The Google / Outlook CSV importer: layouts, multi-values, encodings, delimiters, issues, privacy."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

import contactvault.importers.csv as csv_importer
from contactvault import ImportFailed, InvalidRegion, UnknownCsvLayout, import_csv, iter_csv
from contactvault.importers.result import ImportResult
from tests.conftest import vcf

# Real header rows as the exporters write them (Google's numbered groups repeat as far as the data needs).
GOOGLE_NEW = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
    "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As", "Organization Name",
    "Organization Title", "Organization Department", "Birthday", "Notes", "Photo", "Labels",
    "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label", "E-mail 2 - Value",
    "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value",
    "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street", "Address 1 - City",
    "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code", "Address 1 - Country",
    "Address 1 - Extended Address", "Website 1 - Label", "Website 1 - Value", "Event 1 - Label",
    "Event 1 - Value", "Custom Field 1 - Label", "Custom Field 1 - Value",
]  # fmt: skip
GOOGLE_OLD = [
    "Name", "Given Name", "Additional Name", "Family Name", "Yomi Name", "Given Name Yomi",
    "Additional Name Yomi", "Family Name Yomi", "Name Prefix", "Name Suffix", "Initials", "Nickname",
    "Short Name", "Maiden Name", "Birthday", "Gender", "Location", "Billing Information",
    "Directory Server", "Mileage", "Occupation", "Hobby", "Sensitivity", "Priority", "Subject", "Notes",
    "Language", "Photo", "Group Membership", "E-mail 1 - Type", "E-mail 1 - Value", "Phone 1 - Type",
    "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value", "Address 1 - Type", "Address 1 - Formatted",
    "Address 1 - Street", "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region",
    "Address 1 - Postal Code", "Address 1 - Country", "Address 1 - Extended Address",
    "Organization 1 - Type", "Organization 1 - Name", "Organization 1 - Yomi Name",
    "Organization 1 - Title", "Organization 1 - Department", "Organization 1 - Symbol",
    "Organization 1 - Location", "Organization 1 - Job Description", "Website 1 - Type",
    "Website 1 - Value", "Custom Field 1 - Type", "Custom Field 1 - Value",
]  # fmt: skip
OUTLOOK_EN = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title",
    "Business Street", "Business Street 2", "Business Street 3", "Business City", "Business State",
    "Business Postal Code", "Business Country/Region", "Home Street", "Home Street 2", "Home Street 3",
    "Home City", "Home State", "Home Postal Code", "Home Country/Region", "Other Street",
    "Other Street 2", "Other Street 3", "Other City", "Other State", "Other Postal Code",
    "Other Country/Region", "Assistant's Phone", "Business Fax", "Business Phone", "Business Phone 2",
    "Callback", "Car Phone", "Company Main Phone", "Home Fax", "Home Phone", "Home Phone 2", "ISDN",
    "Mobile Phone", "Other Fax", "Other Phone", "Pager", "Primary Phone", "Radio Phone",
    "TTY/TDD Phone", "Telex", "Account", "Anniversary", "Assistant's Name", "Billing Information",
    "Birthday", "Business Address PO Box", "Categories", "Children", "Directory Server",
    "E-mail Address", "E-mail Type", "E-mail Display Name", "E-mail 2 Address", "E-mail 2 Type",
    "E-mail 2 Display Name", "E-mail 3 Address", "E-mail 3 Type", "E-mail 3 Display Name", "Gender",
    "Government ID Number", "Hobby", "Home Address PO Box", "Initials", "Internet Free Busy",
    "Keywords", "Language", "Location", "Manager's Name", "Mileage", "Notes", "Office Location",
    "Organizational ID Number", "Other Address PO Box", "Priority", "Private", "Profession",
    "Referred By", "Sensitivity", "Spouse", "User 1", "User 2", "User 3", "User 4", "Web Page",
]  # fmt: skip
OUTLOOK_DE = [
    "Anrede", "Vorname", "Weitere Vornamen", "Nachname", "Suffix", "Firma", "Abteilung", "Position",
    "Straße geschäftlich", "Straße geschäftlich 2", "Straße geschäftlich 3", "Ort geschäftlich",
    "Region geschäftlich", "Postleitzahl geschäftlich", "Land/Region geschäftlich", "Straße privat",
    "Straße privat 2", "Straße privat 3", "Ort privat", "Bundesland/Kanton privat", "Postleitzahl privat",
    "Land/Region privat", "Weitere Straße", "Weitere Straße 2", "Weitere Straße 3", "Weiterer Ort",
    "Weiteres/r Bundesland/Kanton", "Weitere Postleitzahl", "Weiteres/r Land/Region",
    "Telefon Assistent", "Fax geschäftlich", "Telefon geschäftlich", "Telefon geschäftlich 2",
    "Rückmeldung", "Autotelefon", "Telefon Firma", "Fax privat", "Telefon privat", "Telefon privat 2",
    "ISDN", "Mobiltelefon", "Weiteres Fax", "Weiteres Telefon", "Pager", "Haupttelefon",
    "Mobiltelefon 2", "Telefon für Hörbehinderte", "Telex", "Abrechnungsinformationen", "Benutzer 1",
    "Benutzer 2", "Benutzer 3", "Benutzer 4", "Beruf", "Büro", "E-Mail-Adresse", "E-Mail-Typ",
    "E-Mail: Angezeigter Name", "E-Mail 2: Adresse", "E-Mail 2: Typ", "E-Mail 2: Angezeigter Name",
    "E-Mail 3: Adresse", "E-Mail 3: Typ", "E-Mail 3: Angezeigter Name", "Empfohlen von", "Geburtstag",
    "Geschlecht", "Hobby", "Initialen", "Internet-Frei/Gebucht", "Jahrestag", "Kategorien", "Kinder",
    "Konto", "Name Assistent", "Name des/der Vorgesetzten", "Notizen", "Organisations-Nr.", "Ort",
    "Partner", "Postfach geschäftlich", "Postfach privat", "Priorität", "Privat", "Regierungs-Nr.",
    "Reisekilometer", "Sprache", "Stichwörter", "Vertraulichkeit", "Verzeichnisserver", "Webseite",
    "Weiteres Postfach",
]  # fmt: skip

# Outlook fills these into every row, whatever the contact says.
OUTLOOK_EN_DEFAULTS = {
    "Anniversary": "0/0/00",
    "Birthday": "0/0/00",
    "E-mail Type": "SMTP",
    "Gender": "Unspecified",
    "Priority": "Normal",
    "Private": "False",
    "Sensitivity": "Normal",
}
OUTLOOK_DE_DEFAULTS = {
    "Jahrestag": "0.0.00",
    "Geburtstag": "0.0.00",
    "E-Mail-Typ": "SMTP",
    "Geschlecht": "Nicht angegeben",
    "Priorität": "Normal",
    "Privat": "Aus",
    "Vertraulichkeit": "Normal",
}


def cells(
    header: Sequence[str], values: Mapping[str, str], defaults: Mapping[str, str] | None = None
) -> list[str]:
    """One row in the header's column order."""
    unknown = set(values) - set(header)
    assert not unknown, unknown
    merged = {**(defaults or {}), **values}
    return [merged.get(column, "") for column in header]


def table(header: Sequence[str], *rows: Sequence[str], delimiter: str = ",", quote_all: bool = False) -> str:
    """CSV text with CRLF line ends, as the exporters write it."""
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n", quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def load(data: str | bytes, region: str | None = "DE") -> ImportResult:
    return import_csv(data.encode("utf-8") if isinstance(data, str) else data, default_region=region)


def codes(result: ImportResult) -> list[tuple[int, str]]:
    return [(issue.line, issue.code) for issue in result.issues]


# --- the four layouts -----------------------------------------------------------------------------------


def test_google_new_layout():
    """A 2024 Google export: names, organisation, birthday, multi-numbers, labels, address, custom field."""
    jurgen = cells(
        GOOGLE_NEW,
        {
            "First Name": "Jürgen",
            "Last Name": "Müller",
            "Name Prefix": "Dr.",
            "Nickname": "Jü",
            "Organization Name": "Bäckerei Müller GmbH",
            "Organization Title": "Inhaber",
            "Organization Department": "Backstube",
            "Birthday": "1980-03-22",
            "Notes": "Stammkunde seit 2019",
            "Photo": "https://lh3.googleusercontent.com/contacts/AbCdEf",
            "Labels": "* myContacts ::: Kunden ::: bezahlt",
            "E-mail 1 - Label": "* Home",
            "E-mail 1 - Value": "juergen.mueller@example.de",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "+49 170 1234567 ::: 0171 2345678",
            "Phone 2 - Label": "Work",
            "Phone 2 - Value": "030 1234567",
            "Address 1 - Label": "Work",
            "Address 1 - Formatted": "Hauptstraße 5\n10115 Berlin",
            "Address 1 - Street": "Hauptstraße 5",
            "Address 1 - City": "Berlin",
            "Address 1 - Postal Code": "10115",
            "Address 1 - Country": "DE",
            "Website 1 - Label": "Homepage",
            "Website 1 - Value": "https://baeckerei-mueller.example",
            "Event 1 - Label": "Anniversary",
            "Event 1 - Value": "2010-06-01",
            "Custom Field 1 - Label": "Kundennummer",
            "Custom Field 1 - Value": "K-4711",
        },
    )
    zoe = cells(
        GOOGLE_NEW, {"File As": "Weiß, Zoë", "First Name": "Zoë", "Phone 1 - Value": "+43 664 1234567"}
    )
    result = load(table(GOOGLE_NEW, jurgen, zoe))
    assert result.format == "google_csv"
    assert result.entries == 2
    assert result.issues == []
    first, second = result.contacts
    assert first.display_name == "Dr. Jürgen Müller"
    assert (first.name.given, first.name.family, first.name.prefixes) == ("Jürgen", "Müller", "Dr.")
    assert first.nickname == "Jü"
    assert (first.organisation, first.title, first.department) == (
        "Bäckerei Müller GmbH",
        "Inhaber",
        "Backstube",
    )
    assert first.birthday is not None
    assert first.birthday.iso() == "1980-03-22"
    assert first.notes == ("Stammkunde seit 2019",)
    assert [p.e164 for p in first.phones] == ["+491701234567", "+491712345678", "+49301234567"]
    assert [p.label for p in first.phones] == ["Mobile", "Mobile", "Work"]
    assert [e.address for e in first.emails] == ["juergen.mueller@example.de"]
    assert first.emails[0].preferred
    assert first.emails[0].types == ("home",)
    (address,) = first.addresses
    assert (address.street, address.locality, address.postal_code) == ("Hauptstraße 5", "Berlin", "10115")
    assert address.types == ("work",)
    assert first.urls == ("https://baeckerei-mueller.example",)
    assert [label.name for label in first.labels] == ["Kunden", "bezahlt"]
    custom = {(f.name, f.value, f.label) for f in first.custom_fields}
    assert custom == {("Event 1 - Value", "2010-06-01", "Anniversary"), ("Kundennummer", "K-4711", None)}
    assert result.dropped == 1
    assert "googleusercontent" not in first.model_dump_json()
    assert second.display_name == "Weiß, Zoë"
    assert second.phones[0].e164 == "+436641234567"
    assert first.source is not None
    assert (first.source.format, first.source.file, first.source.line) == ("google_csv", None, 2)


def test_google_old_layout():
    """The older Google layout: "Name" is the display name, "Type" columns, groups, an organisation."""
    row = cells(
        GOOGLE_OLD,
        {
            "Name": "Anke Schäfer",
            "Given Name": "Anke",
            "Family Name": "Schäfer",
            "Birthday": "--04-12",
            "Gender": "female",
            "Group Membership": "* My Contacts ::: Lieferanten",
            "E-mail 1 - Type": "* Work",
            "E-mail 1 - Value": "anke@elektro-schaefer.example",
            "Phone 1 - Type": "* Mobile",
            "Phone 1 - Value": "0152 34567890",
            "Phone 2 - Type": "Home Fax",
            "Phone 2 - Value": "0221 987654",
            "Organization 1 - Type": "Work",
            "Organization 1 - Name": "Elektro Schäfer & Söhne",
            "Organization 1 - Title": "Meisterin",
            "Custom Field 1 - Type": "",
            "Custom Field 1 - Value": "Schlüssel hinterlegt",
        },
    )
    nowak = cells(
        GOOGLE_OLD, {"Given Name": "Łukasz", "Family Name": "Nowak", "Phone 1 - Value": "+48 512 345 678"}
    )
    result = load(table(GOOGLE_OLD, row, nowak))
    assert result.format == "google_csv"
    assert result.issues == []
    anke, lukasz = result.contacts
    assert anke.display_name == "Anke Schäfer"
    assert anke.birthday is not None
    assert anke.birthday.iso() == "--04-12"
    assert [label.name for label in anke.labels] == ["Lieferanten"]
    mobile, fax = anke.phones
    assert (mobile.e164, mobile.label, mobile.types, mobile.preferred) == (
        "+4915234567890",
        "Mobile",
        ("cell",),
        True,
    )
    assert (fax.label, fax.types, fax.preferred) == ("Home Fax", ("home", "fax"), False)
    assert anke.emails[0].types == ("work",)
    assert (anke.organisation, anke.title) == ("Elektro Schäfer & Söhne", "Meisterin")
    custom = {(f.name, f.value) for f in anke.custom_fields}
    assert ("Gender", "female") in custom
    assert ("CUSTOM", "Schlüssel hinterlegt") in custom
    assert ("Organization 1 - Type", "Work") in custom
    assert lukasz.display_name == "Łukasz Nowak"
    assert lukasz.phones[0].e164 == "+48512345678"


def test_outlook_english_layout():
    """Outlook (English): Title is the prefix, Job Title the title, fixed phone columns, default values."""
    row = cells(
        OUTLOOK_EN,
        {
            "Title": "Dr.",
            "First Name": "Renée",
            "Last Name": "Dupont",
            "Company": "Praxis Dr. Dupont",
            "Job Title": "Ärztin",
            "Business Street": "Königsallee 12",
            "Business Street 2": "Hinterhaus",
            "Business City": "Düsseldorf",
            "Business Postal Code": "40212",
            "Business Phone": "0211 1234567",
            "Mobile Phone": "0160 1234567",
            "Business Fax": "0211 1234568",
            "Primary Phone": "0211 1234560",
            "Birthday": "3/22/1980",
            "Categories": "Kunden;VIP",
            "E-mail Address": "praxis@dupont.example",
            "E-mail Display Name": "Praxis Dupont (praxis@dupont.example)",
            "Spouse": "Søren",
            "Notes": "Termine nur\r\nnachmittags",
        },
        OUTLOOK_EN_DEFAULTS,
    )
    empty_defaults = cells(OUTLOOK_EN, {"First Name": "Kai", "Home Phone": "089 123456"}, OUTLOOK_EN_DEFAULTS)
    result = load(table(OUTLOOK_EN, row, empty_defaults, quote_all=True))
    assert result.format == "outlook_csv"
    assert result.issues == []
    renee, kai = result.contacts
    assert renee.display_name == "Dr. Renée Dupont"
    assert renee.name.prefixes == "Dr."
    assert (renee.organisation, renee.title) == ("Praxis Dr. Dupont", "Ärztin")
    phones = {p.label: (p.e164, p.types, p.preferred) for p in renee.phones}
    assert phones == {
        "Business Fax": ("+492111234568", ("work", "fax"), False),
        "Business Phone": ("+492111234567", ("work",), False),
        "Mobile Phone": ("+491601234567", ("cell",), False),
        "Primary Phone": ("+492111234560", (), True),
    }
    (address,) = renee.addresses
    assert (address.street, address.locality, address.postal_code) == (
        "Königsallee 12\nHinterhaus",
        "Düsseldorf",
        "40212",
    )
    assert address.types == ("work",)
    assert renee.birthday is not None
    assert renee.birthday.iso() == "1980-03-22"
    assert [label.name for label in renee.labels] == ["Kunden", "VIP"]
    assert renee.notes == ("Termine nur\nnachmittags",)
    custom = {f.name: f.value for f in renee.custom_fields}
    assert custom == {"E-mail Display Name": "Praxis Dupont (praxis@dupont.example)", "Spouse": "Søren"}
    assert kai.birthday is None
    assert kai.custom_fields == ()


def test_outlook_german_layout_windows_1252_semicolons():
    """German Outlook, saved by Excel: Windows-1252 bytes, semicolons, German dates and columns."""
    row = cells(
        OUTLOOK_DE,
        {
            "Anrede": "Herr",
            "Vorname": "Björn",
            "Nachname": "Größer",
            "Firma": "Autohaus Nord, Filiale Mitte",
            "Position": "Geschäftsführer",
            "Straße privat": "Am Mühlenbach 3",
            "Ort privat": "Köln",
            "Postleitzahl privat": "50667",
            "Mobiltelefon": "0171 9876543",
            "Telefon privat": "0221 555666",
            "E-Mail-Adresse": "bjoern@autohaus-nord.example",
            "Geburtstag": "22.03.1980",
            "Kategorien": "Kunden;Zahlung offen",
            "Notizen": "Rückruf erbeten; nur vormittags",
            "Partner": "Grete",
        },
        OUTLOOK_DE_DEFAULTS,
    )
    result = load(table(OUTLOOK_DE, row, delimiter=";").encode("cp1252"))
    assert result.format == "outlook_csv"
    assert codes(result) == [(1, "assumed_charset")]
    (bjoern,) = result.contacts
    assert bjoern.display_name == "Herr Björn Größer"
    assert (bjoern.organisation, bjoern.title) == ("Autohaus Nord, Filiale Mitte", "Geschäftsführer")
    assert {p.label: p.types for p in bjoern.phones} == {
        "Telefon privat": ("home",),
        "Mobiltelefon": ("cell",),
    }
    assert bjoern.addresses[0].street == "Am Mühlenbach 3"
    assert bjoern.addresses[0].types == ("home",)
    assert bjoern.birthday is not None
    assert bjoern.birthday.iso() == "1980-03-22"
    assert [label.name for label in bjoern.labels] == ["Kunden", "Zahlung offen"]
    assert bjoern.notes == ("Rückruf erbeten; nur vormittags",)
    assert {f.name: f.value for f in bjoern.custom_fields} == {"Partner": "Grete"}


# --- values ---------------------------------------------------------------------------------------------


def test_multi_values_split_into_separate_entries():
    """Google's " ::: " gives one phone (and e-mail, address) per value; only the first is preferred."""
    row = cells(
        GOOGLE_NEW,
        {
            "First Name": "Fatma",
            "Phone 1 - Label": "* Mobile",
            "Phone 1 - Value": "0151 11111111 ::: 0151 22222222 ::: 0151 33333333",
            "E-mail 1 - Value": "fatma@example.de ::: f.yilmaz@example.de",
            "Address 1 - Label": "Home",
            "Address 1 - City": "München ::: Köln",
            "Address 1 - Postal Code": "80331 ::: 50667",
        },
    )
    (fatma,) = load(table(GOOGLE_NEW, row)).contacts
    assert [p.e164 for p in fatma.phones] == ["+4915111111111", "+4915122222222", "+4915133333333"]
    assert [p.preferred for p in fatma.phones] == [True, False, False]
    assert [e.address for e in fatma.emails] == ["fatma@example.de", "f.yilmaz@example.de"]
    assert [(a.locality, a.postal_code) for a in fatma.addresses] == [("München", "80331"), ("Köln", "50667")]


def test_formatted_only_address_is_kept_whole():
    """A Google address given only as one formatted block is kept whole in `street`."""
    row = cells(
        GOOGLE_NEW,
        {
            "First Name": "Elif",
            "Address 1 - Label": "Home",
            "Address 1 - Formatted": "Lindenweg 2\n50667 Köln",
        },
    )
    (elif_,) = load(table(GOOGLE_NEW, row)).contacts
    (address,) = elif_.addresses
    assert (address.street, address.locality, address.label) == ("Lindenweg 2\n50667 Köln", "", "Home")


def test_labels_and_system_groups():
    """Google's myContacts is dropped, other system groups lose their "* ", repeated labels are kept once."""
    row = cells(
        GOOGLE_NEW,
        {
            "First Name": "Ömer",
            "Labels": "* myContacts ::: * starred ::: * friends ::: Kunden ::: kunden ::: VIP",
        },
    )
    (omer,) = load(table(GOOGLE_NEW, row)).contacts
    assert [label.name for label in omer.labels] == ["starred", "friends", "Kunden", "VIP"]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Mobile", ("Mobile", ("cell",), False)),
        ("* Mobile", ("Mobile", ("cell",), True)),
        ("Work", ("Work", ("work",), False)),
        ("Home Fax", ("Home Fax", ("home", "fax"), False)),
        ("Pager", ("Pager", ("pager",), False)),
        ("Zweithandy", ("Zweithandy", (), False)),
        ("* ", (None, (), True)),
        ("", (None, (), False)),
    ],
)
def test_google_phone_labels_become_label_and_types(label, expected):
    """A Google label goes to `label` without "* "; known ones also give a lower-case vCard type."""
    row = cells(
        GOOGLE_NEW, {"First Name": "Sven", "Phone 1 - Label": label, "Phone 1 - Value": "0170 7654321"}
    )
    (sven,) = load(table(GOOGLE_NEW, row)).contacts
    phone = sven.phones[0]
    assert (phone.label, phone.types, phone.preferred) == expected


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("1980-03-22", "1980-03-22"),
        ("--03-22", "--03-22"),
        ("3/22/1980", "1980-03-22"),
        ("22/03/1980", "1980-03-22"),
        ("22.03.1980", "1980-03-22"),
        ("2.3.1980", "1980-03-02"),
        ("0/0/00", None),
        ("0.0.00", None),
    ],
)
def test_birthday_formats(text, iso):
    """ISO, no-year, Outlook's M/D/YYYY, German D.M.YYYY; Outlook's 0/0/00 means no birthday."""
    row = cells(GOOGLE_NEW, {"First Name": "Lea", "Birthday": text})
    result = load(table(GOOGLE_NEW, row))
    (lea,) = result.contacts
    assert (lea.birthday.iso() if lea.birthday else None) == iso
    assert result.issues == []


def test_bad_birthday_is_kept_as_custom_field():
    """A birthday that is no date gives a warning naming the column and is kept as text."""
    row = cells(GOOGLE_NEW, {"First Name": "Emir", "Birthday": "31.02.1980"})
    result = load(table(GOOGLE_NEW, row))
    (emir,) = result.contacts
    assert emir.birthday is None
    assert [(f.name, f.value) for f in emir.custom_fields] == [("Birthday", "31.02.1980")]
    (issue,) = result.issues
    assert (issue.line, issue.code, issue.severity) == (2, "bad_birthday", "warning")
    assert "Birthday" in issue.message
    assert "31.02" not in issue.message


def test_invalid_number_is_kept_without_e164():
    """An invalid number stays as typed with e164=None, and the warning names the column, not the number."""
    row = cells(GOOGLE_NEW, {"First Name": "Marta", "Phone 1 - Value": "0301"})
    result = load(table(GOOGLE_NEW, row))
    (phone,) = result.contacts[0].phones
    assert (phone.raw, phone.e164, phone.problem) == ("0301", None, "invalid_number")
    (issue,) = result.issues
    assert (issue.line, issue.code) == (2, "invalid_number")
    assert "Phone 1 - Value" in issue.message
    assert "0301" not in issue.message


def test_numbers_without_region_need_country_code():
    """With no default region, a national number is kept with the no_country_code problem."""
    row = cells(
        OUTLOOK_EN, {"First Name": "Noah", "Mobile Phone": "0170 1234567", "Home Phone": "+41 44 668 18 00"}
    )
    result = load(table(OUTLOOK_EN, row), region=None)
    home, mobile = sorted(result.contacts[0].phones, key=lambda p: p.label or "")
    assert (home.label, home.e164) == ("Home Phone", "+41446681800")
    assert (mobile.label, mobile.problem) == ("Mobile Phone", "no_country_code")


@pytest.mark.parametrize(
    ("values", "display", "warned"),
    [
        ({"File As": "Müller (Bäckerei)", "First Name": "Jürgen"}, "Müller (Bäckerei)", False),
        ({"First Name": "Jürgen", "Middle Name": "Hans", "Last Name": "Müller"}, "Jürgen Hans Müller", False),
        ({"Nickname": "Jü", "E-mail 1 - Value": "j@example.de"}, "Jü", False),
        ({"Organization Name": "Café Zoë", "Phone 1 - Value": "030 1234567"}, "Café Zoë", False),
        ({"E-mail 1 - Value": "info@example.de", "Phone 1 - Value": "030 1234567"}, "info@example.de", True),
        ({"Phone 1 - Value": "030 1234567"}, "030 1234567", True),
    ],
)
def test_display_name_fallbacks(values, display, warned):
    """File As, then name parts, nickname, organisation, and last the e-mail or number (with a warning)."""
    result = load(table(GOOGLE_NEW, cells(GOOGLE_NEW, values)))
    assert result.contacts[0].display_name == display
    assert codes(result) == ([(2, "no_name")] if warned else [])


def test_unknown_columns_are_kept_and_photos_counted():
    """Columns without a model field become custom fields under their header; photos are counted, not kept."""
    header = [*GOOGLE_NEW, "Lieblingsbrot"]
    row = cells(
        header, {"First Name": "Ingrid", "Phonetic First Name": "Ing-grid", "Lieblingsbrot": "Roggen"}
    )
    row[header.index("Photo")] = "https://lh3.googleusercontent.com/a ::: https://lh3.googleusercontent.com/b"
    result = load(table(header, row))
    (ingrid,) = result.contacts
    assert {(f.name, f.value) for f in ingrid.custom_fields} == {
        ("Phonetic First Name", "Ing-grid"),
        ("Lieblingsbrot", "Roggen"),
    }
    assert result.dropped == 2
    assert "googleusercontent" not in ingrid.model_dump_json()


# --- rows and lines -------------------------------------------------------------------------------------


def test_quoted_multiline_notes_and_start_lines():
    """Quoted cells keep their line breaks and "" escapes; every issue names the line where its row starts."""
    notes = 'Erste Zeile\nZweite "Zeile"\n\nVierte, mit Komma'
    first = cells(GOOGLE_NEW, {"First Name": "Paweł", "Notes": notes, "Phone 1 - Value": "12"})
    second = cells(GOOGLE_NEW, {"First Name": "Selin", "Phone 1 - Value": "34"})
    result = load(table(GOOGLE_NEW, first, second))
    pawel, selin = result.contacts
    assert pawel.notes == (notes,)
    assert (pawel.source.line, selin.source.line) == (2, 6)
    assert codes(result) == [(2, "invalid_number"), (6, "invalid_number")]


def test_lines_count_crlf_inside_cells_and_leading_blank_lines():
    """CRLF inside a quoted cell counts as one line; blank lines before the header count too."""
    text = "\r\n\r\n" + table(
        GOOGLE_NEW,
        cells(GOOGLE_NEW, {"First Name": "Chloé", "Notes": "a\r\nb\r\nc"}),
        cells(GOOGLE_NEW, {"Notes": "nur eine Notiz"}),
    )
    result = load(text)
    assert result.contacts[0].source.line == 4
    assert result.contacts[0].notes == ("a\nb\nc",)
    assert codes(result) == [(7, "empty_card")]


def test_row_length_mismatch_reads_by_position():
    """Short and long rows import by position with a warning; extra cells are kept, named by position."""
    header = ["First Name", "Last Name", "Labels", "Phone 1 - Value"]
    text = "\n".join(
        [
            ",".join(header),
            "Hans-Peter,Krüger",
            "Anna,Lange,,0170 1111111,Zusatz,",
        ]
    )
    result = load(text)
    hans, anna = result.contacts
    assert hans.display_name == "Hans-Peter Krüger"
    assert anna.phones[0].e164 == "+491701111111"
    assert [(f.name, f.value) for f in anna.custom_fields] == [("column 5", "Zusatz")]
    assert codes(result) == [(2, "row_length"), (3, "row_length")]
    assert "Zusatz" not in result.issues[1].message


def test_empty_rows_are_skipped_silently():
    """Blank lines and rows of empty cells are neither contacts nor issues."""
    result = load("First Name,Last Name,Labels\n\n,,\n  , ,\nZofia,Wójcik,\n\n")
    assert result.entries == 1
    assert result.contacts[0].source.line == 5
    assert result.issues == []


def test_row_without_name_number_or_email_is_an_error():
    """A row with data but no name, number or e-mail address is an error issue: it is not lost silently."""
    row = cells(GOOGLE_NEW, {"Notes": "Rückruf wegen Rechnung", "Labels": "* myContacts ::: offen"})
    ok = cells(GOOGLE_NEW, {"First Name": "Grete"})
    result = load(table(GOOGLE_NEW, row, ok))
    assert result.entries == 2
    assert len(result.contacts) == 1
    (error,) = result.errors
    assert (error.line, error.code) == (2, "empty_card")
    assert "Rückruf" not in error.message


def test_invalid_values_name_the_field_not_the_value():
    """Values the model refuses make the row an invalid_card error naming the field, never the value."""
    label = "Zahlung offen " * 20  # longer than a label may be
    row = cells(GOOGLE_NEW, {"First Name": "Maximilian", "Labels": label})
    result = load(table(GOOGLE_NEW, row))
    (error,) = result.errors
    assert (error.line, error.code) == (2, "invalid_card")
    assert "labels" in error.message
    assert "Zahlung" not in error.message
    assert "Maximilian" not in error.message


def test_unclosed_quote_is_reported_with_its_line():
    """A quote that never closes makes its row an error; the rows before it import."""
    text = 'First Name,Last Name,Labels\nElif,Doğan,\n"Kai,Becker,\nNuño,Núñez,\n'
    result = load(text)
    assert [c.display_name for c in result.contacts] == ["Elif Doğan"]
    assert codes(result) == [(3, "unclosed_quote")]
    assert "Nuño" not in result.issues[0].message


def test_huge_cell_is_an_error_and_the_next_row_imports():
    """A cell beyond the csv module's size limit makes its row an error; the next line reads on."""
    text = f'First Name,Last Name,Labels\n"{"x" * 200_000}",Lange,\nAnke,Meier,\n'
    result = load(text)
    assert codes(result) == [(2, "value_too_long")]
    assert [c.display_name for c in result.contacts] == ["Anke Meier"]


def test_unexpected_exception_becomes_internal_error(monkeypatch):
    """A bug while building one row's contact is reported for that row; the other rows import."""
    real = csv_importer._to_contact

    def flaky(row, file, now):
        if row.start == 3:
            raise RuntimeError("boom: Jürgen")
        return real(row, file, now)

    monkeypatch.setattr(csv_importer, "_to_contact", flaky)
    rows = [cells(GOOGLE_NEW, {"First Name": name}) for name in ("Ana", "Jürgen", "Kai")]
    result = load(table(GOOGLE_NEW, *rows))
    assert [c.display_name for c in result.contacts] == ["Ana", "Kai"]
    (error,) = result.errors
    assert (error.line, error.code) == (3, "internal_error")
    assert "RuntimeError" in error.message
    assert "Jürgen" not in error.message


# --- encodings and delimiters ---------------------------------------------------------------------------


def test_utf8_byte_order_mark_is_ignored():
    """A UTF-8 BOM before the header does not hide the first column."""
    data = "\ufeff" + table(GOOGLE_NEW, cells(GOOGLE_NEW, {"First Name": "Søren", "Last Name": "Åberg"}))
    (soren,) = load(data.encode("utf-8")).contacts
    assert soren.name.given == "Søren"


def test_utf16_export_is_read():
    """A UTF-16 file (with its byte order mark) reads like UTF-8."""
    data = table(OUTLOOK_EN, cells(OUTLOOK_EN, {"First Name": "Zoë", "Mobile Phone": "0176 1234567"})).encode(
        "utf-16"
    )
    result = load(data)
    assert result.contacts[0].display_name == "Zoë"
    assert result.issues == []


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed_from_the_header(delimiter):
    """Comma, semicolon (Excel, German locale) and tab all work; commas inside cells stay."""
    row = cells(
        OUTLOOK_DE,
        {"Vorname": "Jörg", "Firma": "Kanzlei Lange, Partner; Söhne", "Mobiltelefon": "0170 2223334"},
    )
    result = load(table(OUTLOOK_DE, row, delimiter=delimiter))
    (jorg,) = result.contacts
    assert jorg.organisation == "Kanzlei Lange, Partner; Söhne"
    assert jorg.phones[0].e164 == "+491702223334"


def test_windows_1252_decided_at_first_non_ascii_line():
    """An ASCII header and a later Windows-1252 row: one assumed_charset warning, at that row."""
    text = table(
        GOOGLE_NEW,
        cells(GOOGLE_NEW, {"First Name": "Noah"}),
        cells(GOOGLE_NEW, {"First Name": "Jürgen", "Last Name": "Weiß"}),
        cells(GOOGLE_NEW, {"First Name": "Zoë"}),
    )
    result = load(text.encode("cp1252"))
    assert [c.display_name for c in result.contacts] == ["Noah", "Jürgen Weiß", "Zoë"]
    assert codes(result) == [(3, "assumed_charset")]
    assert "Jürgen" not in result.issues[0].message


def test_bytes_invalid_in_the_chosen_encoding_make_a_row_error():
    """Once a file reads as UTF-8, a later line that is not UTF-8 makes its row a bad_encoding error."""
    text = table(
        GOOGLE_NEW,
        cells(GOOGLE_NEW, {"First Name": "Jürgen"}),
        cells(GOOGLE_NEW, {"First Name": "Björn"}),
    )
    data = text.encode("utf-8").replace("Björn".encode(), "Björn".encode("cp1252"))
    result = load(data)
    assert [c.display_name for c in result.contacts] == ["Jürgen"]
    assert codes(result) == [(3, "bad_encoding")]


# --- the file as a whole --------------------------------------------------------------------------------


def test_unknown_layout_names_missing_columns_and_no_cell_value():
    """A header-less file raises UnknownCsvLayout naming missing columns, never the data in its first row."""
    first_row = ["Jürgen", "Müller", "+49 170 1234567", "juergen.mueller@example.de", "Hauptstraße 5"]
    text = table(first_row, ["Anna", "Schmidt", "0151 23456789", "anna@example.de", "Lindenweg 2"])
    with pytest.raises(UnknownCsvLayout) as caught:
        load(text)
    message = str(caught.value)
    assert caught.value.missing == ("First Name", "Last Name", "Labels")
    assert "First Name" in message
    for value in [*first_row, "1234567", "Müller", "example.de"]:
        assert value not in message
    assert isinstance(caught.value, ImportFailed)


def test_closest_layout_is_named():
    """A nearly-Outlook header names only the Outlook column that is missing."""
    with pytest.raises(UnknownCsvLayout) as caught:
        load("Title,First Name,Last Name,Mobile Phone,Job Title\nDr.,Ana,Lange,0170 1,Chefin\n")
    assert caught.value.missing == ("E-mail Address",)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"\x00\x01\x02\x03\xff\xfe\xfd",
        vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Jürgen Müller", "TEL:+49 170 1234567", "END:VCARD"),
        b",,,\r\nJ\xc3\xbcrgen,M\xc3\xbcller,\r\n",
        b"",
        b"\r\n\r\n   \r\n",
        b'"First Name,Last Name,Labels\r\nJ\xc3\xbcrgen,M\xc3\xbcller,\r\n',
    ],
    ids=["png", "binary", "vcard", "empty-header", "empty", "blank", "header-never-ends"],
)
def test_not_a_csv_raises_import_failed_naming_only_the_file(tmp_path, data):
    """Binary data, a vCard, an empty or unending header: ImportFailed naming only the file."""
    path = tmp_path / "kunden-export.csv"
    path.write_bytes(data)
    with pytest.raises(ImportFailed) as caught:
        import_csv(path, default_region="DE")
    message = str(caught.value)
    assert message.startswith("kunden-export.csv: ")
    assert str(tmp_path) not in message
    for value in ("Jürgen", "Müller", "1234567"):
        assert value not in message


def test_path_source_names_the_file(tmp_path):
    """Read from a path, contacts and issues carry the file's name, not its directory."""
    path = tmp_path / "google.csv"
    path.write_text(table(GOOGLE_NEW, cells(GOOGLE_NEW, {"First Name": "Anke", "Phone 1 - Value": "123"})))
    result = import_csv(path, default_region="de")
    assert result.source == "google.csv"
    assert result.contacts[0].source.file == "google.csv"
    assert result.issues[0].source == "google.csv"


def test_invalid_region_is_refused():
    """A region phonenumbers does not know is an InvalidRegion error before anything is read."""
    with pytest.raises(InvalidRegion):
        import_csv(b"First Name,Last Name,Labels\n", default_region="XX")


def test_iter_csv_checks_its_arguments_at_the_call():
    """A bad region or batch size fails when iter_csv is called, not at the first batch."""
    with pytest.raises(InvalidRegion):
        iter_csv(b"First Name,Last Name,Labels\n", default_region="XX")
    with pytest.raises(ValueError, match="batch_size"):
        iter_csv(b"First Name,Last Name,Labels\n", default_region="DE", batch_size=0)


def test_duplicates_within_one_file():
    """Two rows with the same number, written differently, are reported as duplicates."""
    rows = [
        cells(OUTLOOK_EN, {"First Name": "Jürgen", "Mobile Phone": "0170 1234567"}),
        cells(OUTLOOK_EN, {"First Name": "J.", "Last Name": "Müller", "Home Phone": "+49 (0)170 123 45 67"}),
        cells(OUTLOOK_EN, {"First Name": "Anna", "Mobile Phone": "0151 23456789"}),
    ]
    result = load(table(OUTLOOK_EN, *rows))
    (group,) = result.duplicates
    assert group.e164 == "+491701234567"
    assert group.contact_ids == (result.contacts[0].id, result.contacts[1].id)


def test_duplicates_against_existing_contacts():
    """`existing=` reports duplicates with contacts of an earlier import."""
    first = load(
        table(GOOGLE_NEW, cells(GOOGLE_NEW, {"First Name": "Mehmet", "Phone 1 - Value": "0170 5556667"}))
    )
    second_text = table(
        OUTLOOK_EN, cells(OUTLOOK_EN, {"First Name": "M. Öztürk", "Mobile Phone": "+491705556667"})
    )
    second = import_csv(second_text.encode(), default_region="DE", existing=first.contacts)
    (group,) = second.duplicates
    assert group.contact_ids == (first.contacts[0].id, second.contacts[0].id)


def test_iter_csv_yields_bounded_batches():
    """`iter_csv` yields batches of at most `batch_size` rows, and refuses a batch size below one."""
    rows = [cells(GOOGLE_NEW, {"First Name": f"Kunde {n}"}) for n in range(5)]
    data = table(GOOGLE_NEW, *rows).encode()
    batches = list(iter_csv(data, default_region="DE", batch_size=2))
    assert [b.entries for b in batches] == [2, 2, 1]
    assert [c.source.line for b in batches for c in b.contacts] == [2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="batch_size"):
        next(iter_csv(data, default_region="DE", batch_size=0))


# --- properties -----------------------------------------------------------------------------------------

HEADER_BYTES = (",".join(GOOGLE_NEW) + "\r\n").encode()


@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_raise_only_import_failed(data):
    """Any bytes: either ImportFailed (UnknownCsvLayout included) or a result in which no row vanished."""
    try:
        result = import_csv(data, default_region="DE")
    except ImportFailed:
        return
    assert result.entries == len(result.contacts) + len(result.errors)


@given(st.binary(max_size=2_000))
def test_arbitrary_rows_under_a_known_header_never_raise(data):
    """Arbitrary bytes after a real header never raise; every row read is a contact or an error issue."""
    result = import_csv(HEADER_BYTES + data, default_region="DE")
    assert result.entries == len(result.contacts) + len(result.errors)
    assert all(issue.line >= 2 for issue in result.issues)


def _with_starts(header: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[bytes, list[int]]:
    """The file's bytes, and the line each non-empty row starts at (CR, LF and CRLF each end a line)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    starts: list[int] = []
    for row in rows:
        before = out.getvalue().replace("\r\n", "\n").replace("\r", "\n").count("\n")
        writer.writerow(row)
        if any(cell.strip() for cell in row):
            starts.append(before + 1)
    return out.getvalue().encode("utf-8"), starts


ANY_CELL = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)
ROWS = st.lists(st.lists(ANY_CELL, min_size=1, max_size=len(GOOGLE_NEW) + 2), max_size=8)


@given(ROWS)
def test_every_non_empty_row_is_a_contact_or_an_error_at_its_line(rows):
    """Whatever the cells hold (quotes, line breaks, delimiters), each non-empty row lands at its line."""
    data, starts = _with_starts(GOOGLE_NEW, rows)
    result = import_csv(data, default_region="DE")
    landed = sorted([c.source.line for c in result.contacts] + [i.line for i in result.errors])
    assert landed == starts
    assert result.entries == len(starts)


# Personal-looking values: each holds a letter, "@" or "+" that no issue message contains, so a match
# can only mean a message repeated a value.
NAME = st.text("äöüßÄÖÜéñłçø", min_size=1, max_size=3).flatmap(
    lambda marker: st.text("abcdefghijklmnopqrstuvwxyz -", max_size=10).map(lambda rest: marker + rest)
)
NUMBER = st.from_regex(r"\+[0-9]{1,3} ?[0-9 /()-]{0,14}", fullmatch=True)
EMAIL = st.from_regex(r"[a-z]{1,8}@[a-zäöü]{1,8}\.(de|at|ch)", fullmatch=True)
NOTE = st.lists(NAME, min_size=1, max_size=3).map('"\n,;'.join)
DATE = st.from_regex(r"ä?[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{0,4}", fullmatch=True)
PERSONAL = st.one_of(NAME, NUMBER, EMAIL, NOTE, DATE, st.just(""))
COLUMNS = ("First Name", "Last Name", "Birthday", "Notes", "Labels", "Phone 1 - Label", "Phone 1 - Value",
           "E-mail 1 - Value", "Custom Field 1 - Label", "Custom Field 1 - Value")  # fmt: skip
PERSONAL_ROWS = st.lists(
    st.tuples(
        st.fixed_dictionaries(dict.fromkeys(COLUMNS, PERSONAL)),
        st.lists(PERSONAL, max_size=2),  # cells beyond the header
        st.booleans(),  # cut the row short
    ),
    min_size=1,
    max_size=6,
)


@given(PERSONAL_ROWS)
def test_no_issue_message_contains_a_cell_value(rows):
    """No issue message ever repeats a cell value of four or more characters."""
    table_rows = []
    for values, extra, short in rows:
        row = cells(GOOGLE_NEW, values) + extra
        table_rows.append(row[:20] if short else row)
    data, _ = _with_starts(GOOGLE_NEW, table_rows)
    result = import_csv(data, default_region="DE")
    messages = " | ".join(issue.message for issue in result.issues)
    for row in table_rows:
        for value in row:
            for piece in (value, value.strip(), *value.split("\n")):
                if len(piece.strip()) >= 4:
                    assert piece.strip() not in messages
