"""Household traits read from the baskets: young children, a dog, a cat, a heavy produce buyer.

Young children are learnt from the households that declared their composition when the lake has
them (`young_children`, the Complete Journey's demographics); without, the category rule below
holds for them too. Each trait of a product-category signal (`CATEGORY_SIGNALS`) is held when the customer bought one
of its categories in at least `min_baskets` baskets of the period: one bag of dog food may be a
present, repeated purchases are a dog. Its confidence grows with the evidence, n / (n + 2) for n
such baskets (1 basket 0.33, 2 baskets 0.5, 6 baskets 0.75), so a marketer can pick a cut.
A heavy produce buyer spends a share of their basket on fresh produce in the chain's top
`produce_top_share` (20%); the confidence is that share's percentile among customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis

from clientele.analytics.brand_loyalty import window_lines
from clientele.analytics.young_children import ChildModelRules, learnt_trait
from clientele.sums import money_total

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


def household_traits(
    lines: ibis.Table, products: ibis.Table, category_spend: ibis.Table,
    rules: TraitRules = TraitRules(), since: date | None = None,
) -> ibis.Table:
    """Per customer and trait: whether the household has it, with a confidence.

    `lines` and `products` give the category signals (baskets from `since` on); `category_spend`
    (`brand_loyalty.category_spend` over the same window) gives the produce share. Columns:
    customer_id, trait, has_trait (bool), confidence (0..1) and evidence (baskets with the signal,
    or the produce share of spend in 0..1).
    """
    trait_of_product = ibis.cases(
        *[(products.category.isin(list(names)), trait) for trait, names in rules.category_signals.items()],
        else_=None,
    )
    signals = products.select("product_id", trait=trait_of_product).filter(lambda t: t.trait.notnull())
    # the signal products are a small table: joining them keeps only the few lines that matter
    hits = window_lines(lines, since).join(signals, "product_id")
    evidence = hits.group_by(["customer_id", "trait"]).aggregate(evidence=hits.basket_id.nunique())
    category_traits = evidence.select(
        "customer_id",
        "trait",
        has_trait=evidence.evidence >= rules.min_baskets,
        confidence=evidence.evidence.cast("float64") / (evidence.evidence + 2),
        evidence=evidence.evidence.cast("float64"),
    )
    is_produce = category_spend.department == rules.produce_department
    shares = category_spend.group_by("customer_id").aggregate(
        produce=money_total(ibis.ifelse(is_produce, category_spend.category_spend, 0.0)),
        spend=money_total(category_spend.category_spend),
    ).filter(lambda t: t.spend > 0)
    produce_share = shares.produce / shares.spend
    percentile = ibis.percent_rank().over(order_by=produce_share)
    produce = shares.select("customer_id", produce_share=produce_share, percentile=percentile)
    produce_trait = produce.select(
        "customer_id",
        trait=ibis.literal("heavy_produce"),
        has_trait=produce.percentile >= 1 - rules.produce_top_share,
        confidence=produce.percentile,
        evidence=produce.produce_share,
    )
    return category_traits.union(produce_trait)


def household_traits_learnt(
    lines: ibis.Table, products: ibis.Table, category_spend: ibis.Table, demographics: ibis.Table | None,
    rules: TraitRules = TraitRules(), since: date | None = None,
) -> ibis.Table:
    """`household_traits`, with young_children learnt from the declared households of `demographics`
    (see `young_children`) when the lake has enough of them, else from the baby-category rule."""
    traits = household_traits(lines, products, category_spend, rules, since)
    learnt = learnt_trait(lines, products, demographics, since, rules.child_model)
    if learnt is None:
        return traits
    return traits.filter(traits.trait != "young_children").union(learnt.select(*traits.columns))


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
