"""A seeded generator of member records with known truth: people enrolled once or several times
(at a till, in the online shop, at the service desk), each record with the typos, missing fields
and variants real contact data has. Django-free; the benchmarks and the tests use it."""

from __future__ import annotations

import numpy as np

FIRST = ["james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth",
         "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen",
         "chris", "nancy", "daniel", "lisa", "matthew", "betty", "anthony", "sandra", "mark", "ashley", "donald",
         "kimberly", "steven", "emily", "paul", "donna", "andrew", "michelle", "joshua", "carol", "kevin", "amanda",
         "brian", "melissa", "george", "deborah", "timothy", "stephanie", "ronald", "rebecca", "jose", "sharon",
         "renee", "zoe", "chloe", "noemi", "ines", "ada", "grace", "alan"]
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
        "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
        "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker",
        "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams",
        "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "kowalski", "dupre",
        "mueller", "okafor", "tanaka", "oconnor", "lovelace", "hopper", "turing", "curie"]
#: Endings that make the 60 family names into 1,800 (a million members have tens of thousands of names).
ENDINGS = ["", "son", "sen", "ski", "berg", "ez", "ton", "ley", "man", "er", "s", "ova", "ini", "ford", "wood",
           "field", "well", "by", "ham", "stone", "dale", "croft", "worth", "more", "land", "ridge", "brook",
           "ward", "hart", "lund"]
STREETS = ["main", "oak", "pine", "maple", "cedar", "elm", "washington", "lake", "hill", "park", "lincoln",
           "jackson", "church", "river", "sunset", "highland", "meadow", "forest", "spring", "north"]
KINDS = [("street", "st"), ("avenue", "ave"), ("road", "rd"), ("drive", "dr"), ("lane", "ln")]
CITIES = ["chicago", "evanston", "oak park", "naperville", "aurora", "joliet", "elgin", "waukegan", "cicero",
          "skokie", "schaumburg", "palatine", "wheaton", "berwyn", "des plaines"]
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "example.org"]
SOURCES = ["members", "online_shop", "service_desk"]


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(0, len(word) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:  # swap two letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:  # drop one
        return word[:i] + word[i + 1:]
    return word[:i] + "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(0, 26))] + word[i + 1:]


def people(n_people: int, seed: int = 0, duplicate_share: float = 0.3, typo_rate: float = 0.15,
           missing_rate: float = 0.15, n_postal_codes: int = 1000) -> list[dict]:
    """Records of `n_people` people: each has one record, and `duplicate_share` of them one or two
    more, in another source, with typos and missing fields. Each record has `person` (the truth),
    `unique_id`, `source` and the contact fields."""
    rng = np.random.default_rng(seed)
    records = []
    for person in range(n_people):
        first = FIRST[rng.integers(len(FIRST))]
        last = LAST[rng.integers(len(LAST))] + ENDINGS[rng.integers(len(ENDINGS))]
        if rng.random() < 0.2:  # double-barrelled
            last = f"{last}-{LAST[rng.integers(len(LAST))]}"
        year, month, day = 1940 + int(rng.integers(0, 65)), 1 + int(rng.integers(0, 12)), 1 + int(rng.integers(0, 28))
        street, kind = STREETS[rng.integers(len(STREETS))], KINDS[rng.integers(len(KINDS))]
        number = int(rng.integers(1, 9999))
        postal = 60000 + int(rng.integers(0, n_postal_codes))
        truth = {
            "first_name": first, "last_name": last, "birth_date": f"{year:04d}-{month:02d}-{day:02d}",
            "email": f"{first}.{last.replace('-', '')}{int(rng.integers(1, 999))}@{DOMAINS[rng.integers(len(DOMAINS))]}",
            "phone": f"+1312{int(rng.integers(2000000, 9999999)):07d}",
            "address_line": f"{number} {street} {kind[0]}", "postal_code": f"{postal:05d}",
            "city": CITIES[postal % len(CITIES)],
        }
        copies = 1 + (int(rng.integers(1, 3)) if rng.random() < duplicate_share else 0)
        sources = rng.permutation(SOURCES)[:copies] if copies <= len(SOURCES) else SOURCES
        for copy, source in enumerate(sources):
            record = dict(truth)
            if copy > 0:
                for name in ("first_name", "last_name", "address_line", "city"):
                    if rng.random() < typo_rate:
                        record[name] = _typo(rng, record[name])
                for name in ("email", "phone", "birth_date", "address_line", "postal_code"):
                    if rng.random() < missing_rate:
                        record[name] = ""
                if rng.random() < 0.3:
                    record["address_line"] = record["address_line"].replace(kind[0], kind[1]) if record["address_line"] else ""
                if rng.random() < 0.2 and record["email"]:
                    local, _, domain = record["email"].partition("@")
                    record["email"] = f"{local}+shop@{domain}".upper()
                if rng.random() < 0.05 and record["birth_date"]:  # day and month swapped
                    record["birth_date"] = f"{year:04d}-{min(day, 12):02d}-{month:02d}"
            records.append({"person": person, "unique_id": f"{source}:{person}-{copy}", "source": str(source),
                            **record})
    return records


def _sql_list(words) -> str:
    return "[" + ", ".join(f"'{w}'" for w in words) + "]"


def people_table(con, n_people: int, table: str = "synth_people", seed: int = 0, duplicate_share: float = 0.3,
                 typo_rate: float = 0.15, missing_rate: float = 0.15, n_postal_codes: int = 1000) -> str:
    """`people`'s records made by DuckDB in one statement, for millions of people: the same
    vocabulary and the same kinds of damage (typos, missing fields, abbreviations, e-mail +tags in
    capitals, day and month swapped), drawn from hashes of (seed, person, copy, purpose) instead of
    numpy's sequence; the phone numbers as people write them (E.164 at the till; `(312) 555-0100`,
    `312.555.0100` in the other sources). Columns: person (the truth), unique_id, source and the
    contact fields as written. Returns the table's name."""
    kinds_full, kinds_short = _sql_list(k for k, _ in KINDS), _sql_list(s for _, s in KINDS)
    con.execute(f"""
        CREATE OR REPLACE MACRO _h(a, b, c) AS hash(a, b, c, {int(seed)});
        CREATE OR REPLACE MACRO _u(a, b, c) AS (_h(a, b, c) % 1000000007) / 1000000007.0;
        CREATE OR REPLACE MACRO _pick(l, a, b) AS l[1 + (_h(a, b, 0) % len(l))::BIGINT];
        CREATE OR REPLACE MACRO _typo(w, a, b) AS CASE
            WHEN length(w) < 3 THEN w
            WHEN _h(a, b, 1) % 3 = 0 THEN substr(w, 1, (_h(a, b, 2) % (length(w) - 1))::BIGINT)
                || substr(w, (_h(a, b, 2) % (length(w) - 1))::BIGINT + 2, 1)
                || substr(w, (_h(a, b, 2) % (length(w) - 1))::BIGINT + 1, 1)
                || substr(w, (_h(a, b, 2) % (length(w) - 1))::BIGINT + 3)
            WHEN _h(a, b, 1) % 3 = 1 THEN substr(w, 1, (_h(a, b, 2) % (length(w) - 1))::BIGINT)
                || substr(w, (_h(a, b, 2) % (length(w) - 1))::BIGINT + 2)
            ELSE substr(w, 1, (_h(a, b, 2) % (length(w) - 1))::BIGINT) || chr(97 + (_h(a, b, 3) % 26)::INTEGER)
                || substr(w, (_h(a, b, 2) % (length(w) - 1))::BIGINT + 2) END;
        CREATE OR REPLACE TABLE {table} AS
        WITH person AS (
            SELECT p AS person, _pick({_sql_list(FIRST)}, p, 1) AS first_name,
                   _pick({_sql_list(LAST)}, p, 2) || _pick({_sql_list(ENDINGS)}, p, 3)
                       || CASE WHEN _u(p, 4, 0) < 0.2 THEN '-' || _pick({_sql_list(LAST)}, p, 5) ELSE '' END AS last_name,
                   make_date(1940 + (_h(p, 6, 0) % 65)::INTEGER, 1 + (_h(p, 7, 0) % 12)::INTEGER,
                             1 + (_h(p, 8, 0) % 28)::INTEGER) AS born,
                   _pick({_sql_list(STREETS)}, p, 9) AS street, 1 + (_h(p, 10, 0) % 5)::INTEGER AS kind,
                   1 + (_h(p, 11, 0) % 9998)::INTEGER AS house,
                   60000 + (_h(p, 12, 0) % {int(n_postal_codes)})::INTEGER AS postal,
                   (_h(p, 13, 0) % 998)::INTEGER + 1 AS mailbox, _pick({_sql_list(DOMAINS)}, p, 14) AS domain,
                   lpad(CAST(2000000 + _h(p, 15, 0) % 8000000 AS VARCHAR), 7, '0') AS local_number,
                   CASE WHEN _u(p, 16, 0) < {float(duplicate_share)} THEN 2 + (_h(p, 17, 0) % 2)::INTEGER ELSE 1 END
                       AS copies,
                   (_h(p, 18, 0) % 3)::INTEGER AS first_source
            FROM range({int(n_people)}) AS t(p)
        ), truth AS (
            SELECT *, {kinds_full}[kind] AS kind_full, {kinds_short}[kind] AS kind_short,
                   {_sql_list(CITIES)}[1 + postal % {len(CITIES)}] AS city
            FROM person
        ), copied AS (
            SELECT t.*, c AS copy, {_sql_list(SOURCES)}[1 + (first_source + c) % 3] AS source
            FROM truth t, range(3) AS r(c) WHERE c < t.copies
        ), damaged AS (
            SELECT person, copy, source, born, kind_full, kind_short, local_number,
                   CASE WHEN copy > 0 AND _u(person, copy, 20) < {typo_rate} THEN _typo(first_name, person, copy * 10 + 1)
                        ELSE first_name END AS first_name,
                   CASE WHEN copy > 0 AND _u(person, copy, 21) < {typo_rate} THEN _typo(last_name, person, copy * 10 + 2)
                        ELSE last_name END AS last_name,
                   CASE WHEN copy > 0 AND _u(person, copy, 22) < {typo_rate}
                        THEN _typo(house || ' ' || street || ' ' || kind_full, person, copy * 10 + 3)
                        ELSE house || ' ' || street || ' ' || kind_full END AS address_line,
                   CASE WHEN copy > 0 AND _u(person, copy, 23) < {typo_rate} THEN _typo(city, person, copy * 10 + 4)
                        ELSE city END AS city,
                   first_name || '.' || replace(last_name, '-', '') || mailbox || '@' || domain AS email,
                   postal
            FROM copied
        )
        SELECT person, source || ':' || person || '-' || copy AS unique_id, source,
               CASE WHEN copy > 0 AND _u(person, copy, 30) < 0.2 THEN upper(first_name) ELSE first_name END AS first_name,
               CASE WHEN copy > 0 AND _u(person, copy, 31) < 0.2 THEN upper(last_name) ELSE last_name END AS last_name,
               CASE WHEN copy > 0 AND _u(person, copy, 32) < {missing_rate} THEN ''
                    WHEN copy > 0 AND _u(person, copy, 33) < 0.2
                    THEN upper(replace(email, '@', '+shop@')) ELSE email END AS email,
               CASE WHEN copy > 0 AND _u(person, copy, 34) < {missing_rate} THEN ''
                    WHEN source = 'members' THEN '+1312' || local_number
                    WHEN _u(person, copy, 35) < 0.5
                    THEN '(312) ' || substr(local_number, 1, 3) || '-' || substr(local_number, 4)
                    ELSE '312.' || substr(local_number, 1, 3) || '.' || substr(local_number, 4) END AS phone,
               CASE WHEN copy > 0 AND _u(person, copy, 36) < {missing_rate} THEN ''
                    WHEN copy > 0 AND _u(person, copy, 37) < 0.05 AND day(born) <= 12
                    THEN strftime(make_date(year(born), day(born), month(born)), '%Y-%m-%d')
                    ELSE strftime(born, '%Y-%m-%d') END AS birth_date,
               CASE WHEN copy > 0 AND _u(person, copy, 38) < {missing_rate} THEN ''
                    WHEN copy > 0 AND _u(person, copy, 39) < 0.3 THEN replace(address_line, kind_full, kind_short)
                    ELSE address_line END AS address_line,
               CASE WHEN copy > 0 AND _u(person, copy, 40) < {missing_rate} THEN '' ELSE lpad(CAST(postal AS VARCHAR), 5, '0')
                    END AS postal_code,
               city
        FROM damaged""")
    return table
