"""Standardising contact records in bulk, in DuckDB: the matching form of `standardise` as SQL
macros over a whole table (names, addresses, e-mail, postal codes), and phone numbers to E.164 by
phonenumbers called once per distinct raw value. For millions of records (the scale benchmark, a
chain's nightly resolve), where a Python loop over rows takes minutes; the same results as
`matching.matching_frame` row by row (tests/identity/test_bulk.py holds them equal).

Django-free: a DuckDB connection and table names in, a table out.
"""

from __future__ import annotations

import pyarrow as pa

from clientele.identity import standardise

#: The matching forms as DuckDB macros: `standardise.matching_name`, `matching_address`, `matching_email`.
_ABBREVIATIONS = " ".join(f"WHEN '{short}' THEN '{word}'" for short, word in standardise.ABBREVIATIONS.items())
MACROS = f"""
CREATE OR REPLACE MACRO clean_text(x) AS trim(regexp_replace(coalesce(x, ''), '\\s+', ' ', 'g'));
CREATE OR REPLACE MACRO matching_name(x) AS
    trim(regexp_replace(regexp_replace(lower(strip_accents(clean_text(x))), '[^a-z0-9 ]', ' ', 'g'), ' +', ' ', 'g'));
CREATE OR REPLACE MACRO matching_address(x) AS
    array_to_string(list_transform(string_split(matching_name(x), ' '),
                                   lambda w: CASE w {_ABBREVIATIONS} ELSE w END), ' ');
CREATE OR REPLACE MACRO matching_email(x) AS CASE
    WHEN position('@' IN lower(clean_text(x))) > 0
    THEN split_part(split_part(lower(clean_text(x)), '@', 1), '+', 1) || '@'
         || substr(lower(clean_text(x)), length(split_part(lower(clean_text(x)), '@', 1)) + 2)
    ELSE lower(clean_text(x)) END;
"""


def install_macros(con) -> None:
    con.execute(MACROS)


def phones_e164(con, table: str, column: str = "phone", region: str = "US") -> str:
    """A table `<table>_phones` (raw, e164) with every distinct raw phone of `table` standardised
    by phonenumbers (`standardise.clean_phone`; NULL when not a valid number). Returns its name."""
    raws = con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE nullif(trim({column}), '') IS NOT NULL"
                       ).fetchnumpy()[column]
    e164 = []
    for raw in raws:
        try:
            e164.append(standardise.clean_phone(raw, region) or None)
        except standardise.Unusable:
            e164.append(None)
    phones = pa.table({"raw": pa.array(list(raws), pa.string()), "e164": pa.array(e164, pa.string())})
    name = f"{table}_phones"
    con.register(f"{name}_arrow", phones)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return name


def matching_table(con, table: str, into: str, keep: tuple[str, ...] = (), region: str = "US") -> str:
    """`into`: the records of `table` (unique_id, source, the contact fields as written) in the
    form Splink compares (`matching.matching_frame`'s columns), empty values as NULL; phone numbers
    read by phonenumbers (E.164). `keep`: more columns carried over (the truth in a benchmark)."""
    install_macros(con)
    phones = phones_e164(con, table, region=region)
    carried = "".join(f", r.{name}" for name in keep)
    con.execute(f"""
        CREATE OR REPLACE TABLE {into} AS
        SELECT CAST(r.unique_id AS VARCHAR) AS unique_id, coalesce(r.source, '') AS source,
               nullif(matching_name(r.first_name), '') AS first_name,
               nullif(matching_name(r.last_name), '') AS last_name,
               nullif(clean_text(CAST(r.birth_date AS VARCHAR)), '') AS birth_date,
               nullif(matching_email(r.email), '') AS email,
               p.e164 AS phone,
               nullif(matching_address(r.address_line), '') AS address_line,
               nullif(replace(upper(clean_text(r.postal_code)), ' ', ''), '') AS postal_code,
               nullif(matching_name(r.city), '') AS city{carried}
        FROM {table} r LEFT JOIN {phones} p ON p.raw = r.phone""")
    return into
