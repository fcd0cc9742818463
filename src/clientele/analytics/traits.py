"""Household traits read from the baskets: young children, a dog, a cat, a heavy produce buyer.

Young children are learnt from the households that declared their composition when the lake has
them (`young_children`, the Complete Journey's demographics); without, the category rule below
holds for them too. Each trait of a product-category signal (`CATEGORY_SIGNALS`) is held when the customer bought one
of its categories in at least `min_baskets` baskets of the period: one bag of dog food may be a
present, repeated purchases are a dog. Its confidence grows with the evidence, n / (n + 2) for n
such baskets (1 basket 0.33, 2 baskets 0.5, 6 baskets 0.75), so a marketer can pick a cut.
A heavy produce buyer spends a share of their basket on fresh produce in the chain's top
`produce_top_share` (20%); the confidence is that share's percentile among customers.

Each row says its `kind`: "rule" (dog, cat, heavy produce: what the customer bought, with no label
to measure a prediction against) or "prediction" (young children learnt from declared households),
and whether it may drive an offer (`for_offers`): a rule as it holds; a prediction only at or above
the cut whose precision on held-out households is at least 0.7 (`trait_quality` publishes it).
The baby-category rule standing in for young children, measured on the Complete Journey at
precision 0.46, never drives an offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis

from clientele.analytics import ranking
from clientele.analytics.brand_loyalty import window_lines
from clientele.analytics.young_children import ChildModelRules, learnt_quality, learnt_trait
from clientele.sums import money_total, money_total_of_sum

TRAITS = ("young_children", "dog", "cat", "heavy_produce")


def _default_signals() -> dict[str, tuple[str, ...]]:
    return {
        "young_children": (
            "BABY FOODS", "BABYFOOD", "DIAPERS & DISPOSABLES", "INFANT FORMULA", "INFANT CARE PRODUCTS", "BABY HBC",
        ),
        "dog": ("DOG FOODS",),
        "cat": ("CAT FOOD", "CAT LITTER"),
    }


@dataclass(frozen=True)
class TraitRules:
    """Which categories signal which trait, and how much evidence a trait needs."""

    category_signals: dict[str, tuple[str, ...]] = field(default_factory=_default_signals)
    min_baskets: int = 2
    produce_department: str = "PRODUCE"
    produce_top_share: float = 0.20
    child_model: ChildModelRules = ChildModelRules()


def signal_baskets(lines: ibis.Table, products: ibis.Table, rules: TraitRules = TraitRules(),
                   since: date | None = None) -> ibis.Table:
    """Per customer, trait of a category signal and basket with a line of one of its categories
    from `since` on: the latest such line's time (`last_ts`). A basket holds a signal in a window
    ending after its lines exactly when its `last_ts` is in it, so the rows of a window's days
    rolled forward (`rolled_signal_baskets`) give the next window's (decision 0145)."""
    trait_of_product = ibis.cases(
        *[(products.category.isin(list(names)), trait) for trait, names in rules.category_signals.items()],
        else_=None,
    )
    signals = products.select("product_id", trait=trait_of_product).filter(lambda t: t.trait.notnull())
    # the signal products are a small table: joining them keeps only the few lines that matter
    hits = window_lines(lines, since).join(signals, "product_id")
    return hits.group_by(["customer_id", "trait", "basket_id"]).aggregate(last_ts=hits.transaction_ts.max())


def rolled_signal_baskets(kept: ibis.Table, added: ibis.Table, since: date) -> ibis.Table:
    """The `signal_baskets` of a window from `since` on: those `kept` of an earlier window, with
    `added` (the `signal_baskets` of the days since its end: a basket's latest time is the later
    of the two), less the baskets whose latest signal line is before `since`."""
    both = kept.union(added.cast(kept.schema()), distinct=False)
    rolled = both.group_by(["customer_id", "trait", "basket_id"]).aggregate(last_ts=both.last_ts.max())
    return rolled.filter(rolled.last_ts >= ibis.timestamp(since.isoformat()))


#: The decimal sums `produce_totals` keeps per customer.
PRODUCE_TOTALS = ibis.schema({"customer_id": "int64", "produce": "decimal(38, 2)", "spend": "decimal(38, 2)"})


def produce_totals(sums: ibis.Table, categories: ibis.Table, rules: TraitRules = TraitRules()) -> ibis.Table:
    """Per customer of the category sums `sums` (customer_id, category_code, category_spend as a
    decimal: `brand_loyalty.category_sums`), the exact decimal sums of their spend on the
    categories of the produce department (`produce`) and on every category (`spend`): the produce
    share's parts, kept by the incremental refresh (decision 0148). `categories`: the products'
    `brand_loyalty.category_names` (category_code, department). A customer whose two sums are 0
    has no row (the same as no spend)."""
    named = sums.join(categories.select("category_code", "department"), "category_code")
    spend = named.category_spend.cast(PRODUCE_TOTALS["spend"])
    totals = named.group_by("customer_id").aggregate(
        produce=ibis.ifelse(named.department == rules.produce_department, spend,
                            ibis.literal(0).cast(PRODUCE_TOTALS["produce"])).sum(),
        spend=spend.sum())
    return _spent(totals.cast(PRODUCE_TOTALS))


def rolled_produce_totals(kept: ibis.Table, added: ibis.Table, taken: ibis.Table) -> ibis.Table:
    """The `produce_totals` `kept` plus the `added` ones less the `taken` ones (each of category
    sums: those of the days entering and leaving the window), per customer: decimal additions,
    exact and order-free."""
    signed = ibis.union(kept.cast(PRODUCE_TOTALS), added.cast(PRODUCE_TOTALS),
                        taken.select("customer_id", produce=-taken.produce, spend=-taken.spend).cast(PRODUCE_TOTALS),
                        distinct=False)
    totals = signed.group_by("customer_id").aggregate(produce=signed.produce.sum(), spend=signed.spend.sum())
    return _spent(totals.cast(PRODUCE_TOTALS))


def _spent(totals: ibis.Table) -> ibis.Table:
    return totals.filter((totals.produce != 0) | (totals.spend != 0))


def household_traits(
    lines: ibis.Table, products: ibis.Table, category_spend: ibis.Table,
    rules: TraitRules = TraitRules(), since: date | None = None, baskets: ibis.Table | None = None,
    produce_sums: ibis.Table | None = None,
) -> ibis.Table:
    """Per customer and trait: whether the household has it, with a confidence.

    `lines` and `products` give the category signals (baskets from `since` on), or `baskets`, their
    `signal_baskets` when kept; `category_spend` (`brand_loyalty.category_spend` over the same
    window) gives the produce share, or `produce_sums`, its `produce_totals` when kept (the same
    shares: each is the exact decimal sum of the same cents). Columns: customer_id, trait,
    has_trait (bool), confidence (0..1) and evidence (baskets with the signal, or the produce
    share of spend in 0..1).
    """
    if baskets is None:
        baskets = signal_baskets(lines, products, rules, since)
    elif since is not None:
        baskets = baskets.filter(baskets.last_ts >= ibis.timestamp(since.isoformat()))
    evidence = baskets.group_by(["customer_id", "trait"]).aggregate(evidence=baskets.basket_id.nunique())
    held = evidence.evidence >= rules.min_baskets
    category_traits = evidence.select(
        "customer_id",
        "trait",
        has_trait=held,
        confidence=evidence.evidence.cast("float64") / (evidence.evidence + 2),
        evidence=evidence.evidence.cast("float64"),
        kind=ibis.literal("rule"),
        for_offers=held & (evidence.trait != "young_children"),
    )
    if produce_sums is None:
        is_produce = category_spend.department == rules.produce_department
        shares = category_spend.group_by("customer_id").aggregate(
            produce=money_total(ibis.ifelse(is_produce, category_spend.category_spend, 0.0)),
            spend=money_total(category_spend.category_spend),
        ).filter(lambda t: t.spend > 0)
    else:
        shares = produce_sums.select("customer_id", produce=money_total_of_sum(produce_sums.produce),
                                     spend=money_total_of_sum(produce_sums.spend)).filter(lambda t: t.spend > 0)
    shared = shares.select("customer_id", produce_share=shares.produce / shares.spend)
    # percent rank by ranges of the share, never in one partition: rank / (customers - 1)
    ranked = ranking.with_total(ranking.rank(shared, "produce_share", "_rank"), shared, _customers=shared.count())
    percentile = ibis.ifelse(
        ranked._customers > 1, ranked._rank.cast("float64") / (ranked._customers - 1).cast("float64"), 0.0
    )
    produce = ranked.select("customer_id", "produce_share", percentile=percentile)
    produce_trait = produce.select(
        "customer_id",
        trait=ibis.literal("heavy_produce"),
        has_trait=produce.percentile >= 1 - rules.produce_top_share,
        confidence=produce.percentile,
        evidence=produce.produce_share,
        kind=ibis.literal("rule"),
        for_offers=produce.percentile >= 1 - rules.produce_top_share,
    )
    return category_traits.union(produce_trait)


def household_traits_learnt(
    lines: ibis.Table, products: ibis.Table, category_spend: ibis.Table, demographics: ibis.Table | None,
    rules: TraitRules = TraitRules(), since: date | None = None, quality: ibis.Table | None = None,
    baskets: ibis.Table | None = None, produce_sums: ibis.Table | None = None,
) -> ibis.Table:
    """`household_traits`, with young_children learnt from the declared households of `demographics`
    (see `young_children`) when the lake has enough of them, else from the baby-category rule.
    With `quality` (`trait_quality`'s table), a prediction whose held-out precision fell short
    drives no offer, even above its cut. `baskets`: the kept `signal_baskets` (else from `lines`);
    `produce_sums`: the kept `produce_totals` (else from `category_spend`)."""
    traits = household_traits(lines, products, category_spend, rules, since, baskets, produce_sums)
    learnt = learnt_trait(lines, products, demographics, since, rules.child_model)
    if learnt is None:
        return traits
    if quality is not None:
        allowed = quality.filter(quality.trait == "young_children").used_for_offers.to_pyarrow().to_pylist()
        if allowed != [True]:
            learnt = learnt.mutate(for_offers=ibis.literal(False))
    learnt = learnt.mutate(kind=ibis.literal("prediction"))
    return traits.filter(traits.trait != "young_children").union(learnt.select(*traits.columns))


def trait_quality(
    lines: ibis.Table, products: ibis.Table, demographics: ibis.Table | None, rules: TraitRules = TraitRules(),
    since: date | None = None,
) -> ibis.Table:
    """Per trait, how far it may be trusted: kind ("rule" or "prediction"), threshold (the rule or
    the probability cut offers use), held_out_precision and held_out_recall (0..1, measured on
    households never seen by the model that scored them; None for a rule, which has no label) and
    used_for_offers (a rule; or a prediction whose held-out precision at its cut is >= 0.7)."""
    rows = [
        {"trait": trait, "kind": "rule", "threshold": f">= {rules.min_baskets} baskets with {', '.join(names)}",
         "held_out_precision": None, "held_out_recall": None, "used_for_offers": trait != "young_children"}
        for trait, names in rules.category_signals.items()
    ]
    rows.append({"trait": "heavy_produce", "kind": "rule",
                 "threshold": f"produce share of spend in the top {rules.produce_top_share:.0%}",
                 "held_out_precision": None, "held_out_recall": None, "used_for_offers": True})
    quality = learnt_quality(lines, products, demographics, since, rules.child_model)
    if quality is not None:
        rows = [row for row in rows if row["trait"] != "young_children"] + [{
            "trait": "young_children", "kind": "prediction",
            "threshold": f"probability cut of held-out precision >= {rules.child_model.offer_precision:g}",
            "held_out_precision": quality["offer_precision"], "held_out_recall": quality["offer_recall"],
            "used_for_offers": quality["offer_predicted"] > 0
            and quality["offer_precision"] >= rules.child_model.offer_precision,
        }]
    schema = {"trait": "string", "kind": "string", "threshold": "string", "held_out_precision": "float64",
              "held_out_recall": "float64", "used_for_offers": "boolean"}
    return ibis.memtable(rows, schema=schema)


def trait_accuracy(traits: ibis.Table, demographics: ibis.Table, trait: str = "young_children") -> dict:
    """Precision and recall of the young-children trait against declared household composition.

    Truth: the demographics' kids_count is not '0' (children of any age: the only truth the data
    has). Every household with demographics counts; one without any signal is predicted "no".
    Returns households, with_children, predicted, true_positives, precision and recall (0..1).
    """
    known = demographics.filter(demographics.kids_count.notnull()).select(
        "customer_id", has_children=demographics.kids_count != "0"
    )
    flagged = traits.filter((traits.trait == trait) & traits.has_trait).select("customer_id", predicted=True)
    joined = known.left_join(flagged, "customer_id")
    predicted = joined.predicted.fill_null(False)
    counts = joined.aggregate(
        households=joined.count(),
        with_children=joined.has_children.cast("int64").sum(),
        predicted=predicted.cast("int64").sum(),
        true_positives=(predicted & joined.has_children).cast("int64").sum(),
    ).to_pyarrow().to_pylist()[0]
    counts["precision"] = counts["true_positives"] / counts["predicted"] if counts["predicted"] else 0.0
    counts["recall"] = counts["true_positives"] / counts["with_children"] if counts["with_children"] else 0.0
    return counts
