"""Bulk standardisation in DuckDB gives the matching form `matching_frame` gives row by row, and
the SQL generator of synthetic members is seeded, with known truth and damaged copies."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from clientele.identity import bulk, matching, synth

TRICKY = [
    {"unique_id": "t1", "source": "online_shop", "first_name": "Anne-Marie  Dupré", "last_name": "O'CONNOR",
     "email": " Ada+Shop@Example.ORG ", "phone": "+13125550100", "birth_date": "1990-12-10",
     "address_line": "12, Main St.", "postal_code": " sw1a 1aa ", "city": "Évanston"},
    {"unique_id": "t2", "source": "service_desk", "first_name": "ÉLODIE\tZoë", "last_name": "", "email": "no-at-sign",
     "phone": "", "birth_date": "", "address_line": "Apt 4 N. Oak Ave", "postal_code": "", "city": "  "},
    {"unique_id": "t3", "source": "members", "first_name": None, "last_name": "Müller-Lüdenscheidt",
     "email": "a@b@c.org", "phone": "+13125550199", "birth_date": None, "address_line": "1 Ste Hwy 9",
     "postal_code": "60601", "city": "Oak Park"},
]


def test_bulk_standardisation_equals_the_row_by_row_matching_form():
    records = synth.people(300, seed=5) + TRICKY
    con = duckdb.connect()
    columns = ("unique_id", "source", *matching.FIELDS)
    con.register("raw", pa.table({c: pa.array([r.get(c) for r in records], pa.string()) for c in columns}))
    con.execute("CREATE TABLE contacts AS SELECT * FROM raw")

    bulk.matching_table(con, "contacts", "matched")

    expected = matching.matching_frame(records).to_pylist()
    found = con.sql("SELECT * FROM matched").to_arrow_table().to_pylist()
    assert sorted(found, key=lambda r: r["unique_id"]) == sorted(expected, key=lambda r: r["unique_id"])


def test_the_sql_generator_is_seeded_with_truth_and_damaged_copies():
    con = duckdb.connect()
    synth.people_table(con, 20_000, "a", seed=7)
    synth.people_table(con, 20_000, "b", seed=7)

    assert con.execute("SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM b)").fetchone()[0] == 0
    records, people, ids = con.execute("SELECT count(*), count(DISTINCT person), count(DISTINCT unique_id) FROM a"
                                       ).fetchone()
    assert people == 20_000 and ids == records and 1.3 < records / people < 1.6
    # copies differ from the first record of their person as the Python generator's do
    damaged = con.execute("""
        SELECT count(*) FILTER (WHERE c.last_name <> o.last_name), count(*) FILTER (WHERE c.email = ''),
               count(*) FILTER (WHERE c.phone LIKE '(312) %' OR c.phone LIKE '312.%'), count(*)
        FROM a c JOIN a o ON o.person = c.person AND o.unique_id LIKE '%-0' WHERE c.unique_id NOT LIKE '%-0'
    """).fetchone()
    assert all(n > 0 for n in damaged[:3]) and damaged[1] < 0.3 * damaged[3]
    bulk.matching_table(con, "a", "m", keep=("person",))
    phones = con.execute("SELECT count(*) FILTER (WHERE m.phone IS NULL), count(*) FILTER (WHERE m.phone LIKE '+1312%') "
                         "FROM m JOIN a USING (unique_id) WHERE a.phone <> ''").fetchone()
    assert phones[0] == 0 and phones[1] > 0  # every written phone read by phonenumbers as E.164
