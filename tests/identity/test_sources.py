"""A source system's contact file: every row loaded, standardised, or quarantined with its reason."""

from __future__ import annotations

import csv
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clientele.identity import standardise
from clientele.identity.errors import BadContactFile
from clientele.identity.models import ContactImport, SourceRecord
from clientele.identity.sources import import_contacts

MAPPING = """
source = "online_shop"
date_format = "%d/%m/%Y"
[columns]
source_key = "ACCOUNT"
first_name = "FIRST"
last_name = "LAST"
email = "MAIL"
phone = "TEL"
birth_date = "BORN"
address_line = "STREET"
"""


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text(MAPPING)
    return path


def write_csv(path, rows):
    path.write_bytes(b"ACCOUNT,FIRST,LAST,MAIL,TEL,BORN,STREET\n" + b"".join(rows))
    return path


def test_given_a_shop_file_with_broken_rows_then_each_is_loaded_or_quarantined_with_its_reason(db, home, tmp_path,
                                                                                              mapping):
    file = write_csv(tmp_path / "shop.csv", [
        b"A1,ANNE-MARIE,DUPR\xc3\x89, Anne@Example.ORG ,(312) 555-0100,10/12/1990,\"12, Main St.\"\n",
        b"A2,bob,smith,,+44 20 7946 0958,,\n",
        b",no,key,x@example.org,,,\n",                        # 4: no key
        b"A1,again,dup,y@example.org,,,\n",                  # 5: the same key again
        b"A3,carl,jones,not-an-address,,,\n",                # 6
        b"A4,dora,lee,,12,,\n",                              # 7: not a phone number
        b"A5,eve,ray,,,31/02/1990,\n",                       # 8: no such day
        b"A6,fay,,,,,\n",                                    # 9: nothing to match on
        b"A7,gus,\xff\xfe,,,,\n",                            # 10: not UTF-8
        b"A8,hal,kim\n",                                     # 11: short row
    ])

    result = import_contacts(file, mapping)

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (10, 2, 8)
    anne = SourceRecord.objects.get(source_key="A1")
    assert (anne.first_name, anne.last_name, anne.email, anne.phone, anne.birth_date, anne.address_line) == (
        "Anne-Marie", "Dupré", "anne@example.org", "+13125550100", date(1990, 12, 10), "12, Main St.")
    assert SourceRecord.objects.get(source_key="A2").phone == "+442079460958"
    with open(result.quarantine_file, encoding="utf-8") as handle:
        quarantined = {row["line"]: (row["field"], row["reason"]) for row in csv.DictReader(handle)}
    assert quarantined == {
        "4": ("source_key", "missing value"),
        "5": ("source_key", "duplicate key (same as line 2)"),
        "6": ("email", "not an e-mail address"),
        "7": ("phone", "not a valid phone number"),
        "8": ("birth_date", "unparseable date of birth"),
        "9": ("", "nothing to match on (no last name, e-mail or phone)"),
        "10": ("", "bad encoding (not UTF-8)"),
        "11": ("MAIL", "missing column (fewer fields than the header)"),
    }
    log = ContactImport.objects.get()
    assert log.rows_read == log.rows_loaded + log.rows_quarantined == 10

    with pytest.raises(BadContactFile, match="shop.csv: this file was already imported for online_shop"):
        import_contacts(file, mapping)


def test_given_a_parquet_file_of_a_second_source_then_keys_update_their_own_records(db, home, tmp_path):
    file = tmp_path / "desk.parquet"
    pq.write_table(pa.table({"source_key": ["D1"], "last_name": ["OKAFOR"], "email": ["o@example.org"]}), file)
    assert import_contacts(file, source="service_desk").created == 1
    pq.write_table(pa.table({"source_key": ["D1"], "last_name": ["Okafor"], "email": ["new@example.org"]}), file)
    again = import_contacts(file, source="service_desk")
    assert (again.created, again.updated) == (0, 1)
    assert SourceRecord.objects.get().email == "new@example.org"


@pytest.mark.parametrize(("mapping_text", "message"), [
    ('source = "x"\nsheet = 1\n', "unknown setting 'sheet'"),
    ('source = "x"\n[columns]\nshoe_size = "S"\n', "unknown contact field 'shoe_size'"),
    ('source = "x"\n[columns]\nsource_key = "NOPE"\n', r"no column 'NOPE' \(for source_key\) in the header"),
])
def test_given_a_bad_mapping_then_nothing_is_written_and_the_message_names_it(db, home, tmp_path, mapping_text,
                                                                           message):
    file = write_csv(tmp_path / "shop.csv", [b"A1,a,b,,,,\n"])
    bad = tmp_path / "bad.toml"
    bad.write_text(mapping_text)
    with pytest.raises(BadContactFile, match=message):
        import_contacts(file, bad)
    assert ContactImport.objects.count() == 0


@pytest.mark.parametrize(("value", "expected"), [
    ("Anne-Marie  Dupré", "anne marie dupre"), ("O'Connor", "o connor"),
])
def test_names_match_without_case_accents_or_punctuation(value, expected):
    assert standardise.matching_name(value) == expected


def test_addresses_and_emails_match_in_their_usual_variants():
    assert standardise.matching_address("12, Main St.") == standardise.matching_address("12 MAIN STREET")
    assert standardise.matching_email("Ada+shop@Example.org") == "ada@example.org"


def test_completeness_weighs_the_fields_filled():
    assert standardise.completeness({"first_name": "a", "last_name": "b", "email": "c", "phone": "d"}) == 0.6
    assert standardise.completeness({}) == 0
