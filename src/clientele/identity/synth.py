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
