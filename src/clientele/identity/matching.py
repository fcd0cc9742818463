"""Scored matching with Splink: records in, candidate pairs out, each with its match probability and
the contribution of every field (its weight: log2 of the Bayes factor, term frequency included).

Django-free: a table of records in (`unique_id` and the contact fields in their matching form,
see `matching_frame`), a list of pairs out. The model's parameters are estimated on the records
themselves, without labels: the chance that two records match from deterministic rules, the `u`
values from random pairs, the `m` values by expectation maximisation on the fewest blockings that
together cover every field (docs/identity.md, decisions 0059, 0107).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

import pyarrow as pa

from clientele.identity import standardise

#: The fields compared, in their matching form, in the order the explanation lists them.
FIELDS = ("first_name", "last_name", "birth_date", "email", "phone", "address_line", "postal_code", "city")


def matching_frame(records: list[dict]) -> pa.Table:
    """Records (unique_id, source and the contact fields as stored) in the form Splink compares:
    names and addresses lower case without accents, abbreviations spelled out, e-mail without its
    +tag, dates as ISO text; empty values as nulls."""
    def value(text):
        return text or None

    rows = {"unique_id": [], "source": [], **{name: [] for name in FIELDS}}
    for record in records:
        rows["unique_id"].append(str(record["unique_id"]))
        rows["source"].append(record.get("source", ""))
        rows["first_name"].append(value(standardise.matching_name(record.get("first_name"))))
        rows["last_name"].append(value(standardise.matching_name(record.get("last_name"))))
        birth = record.get("birth_date")
        rows["birth_date"].append(birth.isoformat() if hasattr(birth, "isoformat") else value(birth))
        rows["email"].append(value(standardise.matching_email(record.get("email"))))
        rows["phone"].append(value(standardise.clean_text(record.get("phone"))))
        rows["address_line"].append(value(standardise.matching_address(record.get("address_line"))))
        rows["postal_code"].append(value(standardise.clean_postal_code(record.get("postal_code")).replace(" ", "")))
        rows["city"].append(value(standardise.matching_name(record.get("city"))))
    return pa.table(rows, schema=pa.schema([(name, pa.string()) for name in rows]))


#: How each engine writes the ISO date format (the one thing of the settings in an engine's dialect).
DATE_FORMATS = {"duckdb": "%Y-%m-%d", "spark": "yyyy-MM-dd"}


#: The first word of an address (its house number, usually), in SQL over side `l` or `r`.
HOUSE_NUMBER = "split_part({}.address_line, ' ', 1)"


def _name_comparison(name: str, other: str):
    """Splink's `NameComparison` for `name` (exact with term frequencies, Jaro-Winkler 0.92, 0.88,
    0.7) with one more level after the exact match: the name written in the other name's field
    (a first name given as the last name, on either side)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    class NameOrSwapped(cl.NameComparison):
        def create_comparison_levels(self):
            levels = super().create_comparison_levels()
            swapped = cll.Or(cll.ColumnsReversedLevel(name, other), cll.ColumnsReversedLevel(other, name))
            return [*levels[:2], swapped.configure(label_for_charts=f"{name} swapped with {other}"), *levels[2:]]

    return NameOrSwapped(name).configure(term_frequency_adjustments=True)


def model_settings(link_type: str = "dedupe_only", engine: str = "duckdb"):
    """Splink's settings of the identity model: blocking rules and one comparison per field; the
    same for every engine but for how the date format is written (`DATE_FORMATS`)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("birth_date"),  # ~40 people a day of birth in a million: cheap, and it finds typo'd names
            block_on("postal_code", "first_name"),  # not postal code alone: a thousand members a code
            block_on("postal_code", "last_name"),
            block_on("address_line"),
            "l.first_name = r.last_name AND l.last_name = r.first_name",  # swapped names
            # decision 0105: what a typo in both names, a missing or mistyped birth date or a
            # half-swapped name leaves; each a few pairs per postal code
            "l.postal_code = r.postal_code AND substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4)",
            f"l.postal_code = r.postal_code AND {HOUSE_NUMBER.format('l')} = {HOUSE_NUMBER.format('r')}",
            "l.postal_code = r.postal_code AND l.first_name = r.last_name",
            "l.postal_code = r.postal_code AND l.last_name = r.first_name",
        ],
        comparisons=[
            _name_comparison("first_name", "last_name"),
            _name_comparison("last_name", "first_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True, datetime_format=DATE_FORMATS[engine],
                                     invalid_dates_as_null=True),
            cl.EmailComparison("email"),
            cl.DamerauLevenshteinAtThresholds("phone", [1, 2]),
            cl.JaroWinklerAtThresholds("address_line", [0.95, 0.85]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postal_code", [1, 2]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("city", [0.95, 0.85]).configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


@dataclass
class ScoredPair:
    left: str
    right: str
    match_probability: float
    match_weight: float
    fields: list[dict] = field(default_factory=list)


#: The blockings the `m` values may be estimated on, in order of preference: a session blocked on
#: some fields estimates every other one. The birth date and city first (the birth date alone is
#: 42 records a day at a million: ~21M pairs, ten times the cost for the same m values), then one
#: that estimates those two: the e-mail, the phone, and only without either the postal code (200
#: records a code at a million members make 100M pairs, and its m values underflow) (decision 0107).
EM_BLOCKINGS = (("birth_date", "city"), ("email",), ("phone",), ("postal_code",), ("birth_date",))


def em_blockings(fields_present: set[str], skip: Collection[tuple[str, ...]] = ()) -> list[tuple[str, ...]]:
    """The EM sessions to run (decision 0107): of `EM_BLOCKINGS`, in order, each whose fields are
    present and that estimates a field no session before it does, until every present field is
    estimated; never the sessions in `skip` (they failed)."""
    chosen, estimated = [], set()
    for columns in EM_BLOCKINGS:
        if columns in skip or not set(columns) <= fields_present:
            continue
        if fields_present - set(columns) - estimated:
            chosen.append(columns)
            estimated |= fields_present - set(columns)
        if estimated >= fields_present:
            break
    return chosen


def train(make_linker, fields_present: set[str]):
    """A linker (from `make_linker()`) with its parameters estimated without labels (see the
    module's docstring). An EM session that fails on a small set (no pair, or an m value that
    underflows) leaves Splink's model half-changed: the training starts again without it, with
    the next session that covers what it would have."""
    from splink import block_on

    deterministic = [rule for rule, needs in (
        (block_on("email"), {"email"}), (block_on("phone"), {"phone"}),
        (block_on("first_name", "last_name", "birth_date"), {"first_name", "last_name", "birth_date"}),
        (block_on("first_name", "last_name", "postal_code"), {"first_name", "last_name", "postal_code"}),
    ) if needs <= fields_present]
    skipped: list[tuple[str, ...]] = []
    log = logging.getLogger(__name__)  # each step's end at INFO: a long run's log says where it is
    while True:
        linker = make_linker()
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
        log.info("training: chance of a match estimated from %d deterministic rules", len(deterministic))
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        log.info("training: u values estimated from 1,000,000 random pairs")
        try:
            for columns in em_blockings(fields_present, skipped):
                failed = columns
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*columns), estimate_without_term_frequencies=True)
                log.info("training: m values estimated by EM blocked on %s", ", ".join(columns))
            return linker
        except Exception as error:  # noqa: BLE001 - Splink raises plain exceptions here
            log.warning("EM blocked on %s skipped: %r", failed, error)
            skipped.append(failed)


def score(frame: pa.Table, threshold: float = 0.5, engine: str = "duckdb") -> list[ScoredPair]:
    """Every candidate pair the blocking rules find among `frame`'s records (`matching_frame`) with
    a match probability of at least `threshold`, scored by a model trained on the records
    themselves, with each field's contribution. `engine`: duckdb (in process) or spark (a chain's
    cluster; here local mode): the same settings, the same training, the same pairs."""
    from splink import Linker

    db_api = splink_api(engine)
    records = db_api.register(frame if engine == "duckdb" else frame.to_pandas())
    linker = train(lambda: Linker(records, model_settings(engine=engine), log_level=logging.ERROR),
                   {name for name in FIELDS if frame.column(name).null_count < frame.num_rows})
    return predictions(linker, threshold)


def splink_api(engine: str = "duckdb"):
    """Splink's database API for `engine`: DuckDB in process, or Spark (the process's session,
    `engine.spark_session`, which loads Splink's similarity functions; imported only here)."""
    if engine == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    if engine == "spark":
        from splink import SparkAPI

        from clientele.engine import spark_session

        # lineage broken by caching in the executors' memory: nothing written to a checkpoint folder
        return SparkAPI(spark_session=spark_session(), break_lineage_method="persist")
    raise ValueError(f"unknown engine {engine!r}: choose duckdb or spark")


def predictions(linker, threshold: float) -> list[ScoredPair]:
    """The linker's predictions above `threshold`, as pairs with their explanation."""
    result = linker.inference.predict(threshold_match_probability=threshold)
    if hasattr(result, "as_duckdbpyrelation"):
        table = result.as_duckdbpyrelation().arrow()
        rows = (table.read_all() if hasattr(table, "read_all") else table).to_pylist()
    else:  # Spark: the pairs collected to the driver
        rows = result.as_record_dict()
    labels = {c.output_column_name: {level.comparison_vector_value: level.label_for_charts
                                     for level in c.comparison_levels}
              for c in linker._settings_obj.comparisons}
    pairs = []
    for row in rows:
        explained = []
        for name, levels in labels.items():
            gamma = row.get(f"gamma_{name}")
            weight = round((row.get(f"mw_{name}") or 0.0) + (row.get(f"mw_tf_adj_{name}") or 0.0), 3)
            explained.append({"field": name, "level": levels.get(gamma, str(gamma)),
                              "agreement": "missing" if gamma == -1 else ("agree" if weight > 0 else "disagree"),
                              "weight": weight, "left": row.get(f"{name}_l"), "right": row.get(f"{name}_r")})
        left, right = str(row["unique_id_l"]), str(row["unique_id_r"])
        if right < left:  # a pair is named in order: its sides' values follow
            left, right = right, left
            for item in explained:
                item["left"], item["right"] = item["right"], item["left"]
        pairs.append(ScoredPair(left=left, right=right, match_probability=float(row["match_probability"]),
                                match_weight=float(row["match_weight"]), fields=explained))
    return pairs
