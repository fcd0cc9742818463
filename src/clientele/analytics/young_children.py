"""Young children in the household, learnt from the households that declared their composition.

The baby-category rule of `traits` flags households that buy diapers or baby food; most children
are past that age, and grandparents buy baby products too. When the lake holds demographics (the
Complete Journey's 801 households with `kids_count`), a logistic regression learns the basket
profile of a household with children instead: its share of spend on each child-related category
(`CHILD_CATEGORY_WORDS`: baby products, but also cereal, juice, snacks, milk, lunch meat...) and
its basket habits (spend, lines and quantity per basket, baskets per week), square-root scaled and
standardised, strongly regularised (C = `regularisation`). Two cuts on the predicted probability are found by cross-validation inside the training households:
the one where precision and recall are closest (`has_trait`, a targeting hint ranked by its
confidence) and the lowest one whose precision is at least `offer_precision` (0.7: `for_offers`,
the only cut an offer may use; none when no cut reaches it). `held_out_quality` measures both on
households never seen by the model that scored them. The confidence of a household is its
predicted probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import numpy as np
import pandas as pd

from clientele.analytics.brand_loyalty import window_lines
from clientele.sums import money_total

CHILD_CATEGORY_WORDS = (
    "BABY", "DIAPER", "INFANT", "TOYS", "CEREAL", "JUICE", "SNACK", "CANDY", "MILK", "YOGURT", "FROZEN PIZZA",
    "CHEESE", "BREAD", "LUNCH", "SOFT DRINK", "COOKIES", "CRACKERS", "PEANUT", "SCHOOL", "HOT DOG", "PASTA",
)
HABITS = ("spend_per_basket", "lines_per_basket", "quantity_per_basket", "baskets_per_week", "weeks")


@dataclass(frozen=True)
class ChildModelRules:
    """The model's settings: regularisation strength, cross-validation folds, least labelled households."""

    regularisation: float = 0.01
    folds: int = 5
    min_labelled: int = 50
    offer_precision: float = 0.7
    min_offer_households: int = 10  # a cut that flags fewer households measures nothing


def household_features(lines: ibis.Table, products: ibis.Table, since: date | None = None) -> pd.DataFrame:
    """Per customer (index), the model's inputs: spend share of each child-related category (0..1)
    and the basket habits of `HABITS` (currency units per basket, lines, units, baskets per week)."""
    members = window_lines(lines, since)
    is_child = ibis.or_(*[products.category.contains(word) for word in CHILD_CATEGORY_WORDS])
    child_products = products.filter(products.category.notnull() & is_child).select("product_id", "category")
    bought = members.join(child_products, "product_id")
    per_category = bought.group_by(["customer_id", "category"]).aggregate(
        spend=money_total(bought.sales_value)
    ).to_pyarrow().to_pandas()
    habits = members.group_by("customer_id").aggregate(
        spend=money_total(members.sales_value),
        baskets=members.basket_id.nunique(),
        lines=members.count(),
        quantity=members.quantity.cast("float64").sum(),
        weeks=members.transaction_ts.truncate("W").nunique(),
    ).to_pyarrow().to_pandas().set_index("customer_id")
    habits = habits[habits.baskets > 0].sort_index()  # engines return groups in any order; folds need one
    shares = per_category.pivot_table(index="customer_id", columns="category", values="spend", aggfunc="sum")
    shares = shares.reindex(habits.index).fillna(0.0).div(habits.spend.where(habits.spend > 0), axis=0).fillna(0.0)
    shares = shares.reindex(columns=sorted(shares.columns))
    habit_columns = pd.DataFrame({
        "spend_per_basket": habits.spend / habits.baskets,
        "lines_per_basket": habits.lines / habits.baskets,
        "quantity_per_basket": habits.quantity / habits.baskets,
        "baskets_per_week": habits.baskets / habits.weeks,
        "weeks": habits.weeks.astype("float64"),
    })
    return pd.concat([shares.clip(lower=0.0), np.log1p(habit_columns.clip(lower=0.0))], axis=1)


def has_children(demographics: ibis.Table) -> pd.Series:
    """Per customer with a declared household composition: True when kids_count is not '0'."""
    known = demographics.filter(demographics.kids_count.notnull()).select("customer_id", "kids_count")
    frame = known.to_pyarrow().to_pandas().set_index("customer_id")
    return frame.kids_count != "0"


def _model(rules: ChildModelRules):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(
        FunctionTransformer(np.sqrt), StandardScaler(), LogisticRegression(C=rules.regularisation, max_iter=5000)
    )


def _balanced_cut(truth: np.ndarray, probability: np.ndarray) -> float:
    """The probability cut where precision and recall are closest (their minimum is highest)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, cuts = precision_recall_curve(truth, probability)
    best = np.argmax(np.minimum(precision[:-1], recall[:-1]))
    return float(cuts[best])


def _precision_cut(truth: np.ndarray, probability: np.ndarray, rules: ChildModelRules) -> float | None:
    """The lowest probability cut (the most households) whose precision is at least
    `rules.offer_precision` with at least `rules.min_offer_households` flagged; None if none."""
    order = np.argsort(-probability, kind="stable")
    hits = np.cumsum(truth[order])
    flagged = np.arange(1, len(order) + 1)
    good = (hits / flagged >= rules.offer_precision) & (flagged >= rules.min_offer_households)
    if not good.any():
        return None
    last = int(np.flatnonzero(good)[-1])
    return float(probability[order][last])


@dataclass(frozen=True)
class ChildModel:
    """The fitted model and its two cuts: `cut` (balanced) and `offer_cut` (precision >= the
    rules' offer_precision in cross-validation, or None when no cut reaches it)."""

    model: object
    cut: float
    offer_cut: float | None

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(features.to_numpy())[:, 1]


def fit(features: pd.DataFrame, truth: pd.Series, rules: ChildModelRules = ChildModelRules()) -> ChildModel:
    """The fitted model and its cuts, chosen by cross-validation inside these households only."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x, y = features.to_numpy(), truth.to_numpy().astype(int)
    folds = StratifiedKFold(rules.folds, shuffle=True, random_state=0)
    inner = cross_val_predict(_model(rules), x, y, cv=folds, method="predict_proba")[:, 1]
    return ChildModel(_model(rules).fit(x, y), _balanced_cut(y, inner), _precision_cut(y, inner, rules))


def labelled(features: pd.DataFrame, truth: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The households with both basket features and a declared composition, in the same order."""
    ids = features.index.intersection(truth.index)
    return features.loc[ids], truth.loc[ids]


def cross_validated_accuracy(
    features: pd.DataFrame, truth: pd.Series, rules: ChildModelRules = ChildModelRules()
) -> dict:
    """Precision and recall on households never seen by the model that scored them, at the
    balanced cut (`predicted`, `precision`, `recall`) and at the offer cut (`offer_predicted`,
    `offer_precision`, `offer_recall`: the cut of precision >= `rules.offer_precision`).

    Outer `folds`-fold cross-validation over the labelled households; in each, the model and its
    cuts are fitted on the other folds only (a fold whose training finds no offer cut flags none).
    Also returns households, with_children, true_positives and offer_true_positives.
    """
    from sklearn.model_selection import StratifiedKFold

    x, y = labelled(features, truth)
    predicted = pd.Series(False, index=x.index)
    for_offers = pd.Series(False, index=x.index)
    for train, test in StratifiedKFold(rules.folds, shuffle=True, random_state=1).split(x, y):
        fitted = fit(x.iloc[train], y.iloc[train], rules)
        probability = fitted.probability(x.iloc[test])
        predicted.iloc[test] = probability >= fitted.cut
        for_offers.iloc[test] = fitted.offer_cut is not None and probability >= fitted.offer_cut
    return {"households": len(y), "with_children": int(y.sum()), **_quality(predicted, y, ""),
            **_quality(for_offers, y, "offer_")}


def _quality(predicted: pd.Series, truth: pd.Series, prefix: str) -> dict:
    hits = int((predicted & truth).sum())
    flagged = int(predicted.sum())
    return {
        f"{prefix}predicted": flagged, f"{prefix}true_positives": hits,
        f"{prefix}precision": round(hits / flagged, 3) if flagged else 0.0,
        f"{prefix}recall": round(hits / int(truth.sum()), 3) if truth.sum() else 0.0,
    }


def learnt_trait(
    lines: ibis.Table, products: ibis.Table, demographics: ibis.Table | None, since: date | None = None,
    rules: ChildModelRules = ChildModelRules(),
) -> ibis.Table | None:
    """The young-children trait of every customer in `lines` (from `since` on), learnt from the
    households of `demographics`; the columns of `household_traits`. None without demographics or
    with too few labelled households (the baby-category rule stands)."""
    if demographics is None:
        return None
    scored = score(household_features(lines, products, since), has_children(demographics), rules)
    return None if scored is None else ibis.memtable(scored)


def learnt_quality(
    lines: ibis.Table, products: ibis.Table, demographics: ibis.Table | None, since: date | None = None,
    rules: ChildModelRules = ChildModelRules(),
) -> dict | None:
    """`cross_validated_accuracy` of the learnt trait on the declared households of `demographics`
    (None without them, or with too few labelled households for the model to be used)."""
    if demographics is None:
        return None
    x, y = labelled(household_features(lines, products, since), has_children(demographics))
    if len(y) < rules.min_labelled or y.nunique() < 2:
        return None
    return cross_validated_accuracy(x, y, rules)


def score(features: pd.DataFrame, truth: pd.Series, rules: ChildModelRules = ChildModelRules()) -> pd.DataFrame | None:
    """Every customer's young-children trait from a model fitted on the labelled households.

    Columns: customer_id, trait ('young_children'), has_trait (the balanced cut), confidence (the
    predicted probability, 0..1), evidence (the same probability) and for_offers (at or above the
    cut of held-out precision >= `rules.offer_precision`; False for all when none reaches it).
    None when fewer than `min_labelled` households are labelled (the baby-category rule stands).
    """
    x, y = labelled(features, truth)
    if len(y) < rules.min_labelled or y.nunique() < 2:
        return None
    fitted = fit(x, y, rules)
    probability = fitted.probability(features)
    return pd.DataFrame({
        "customer_id": features.index.to_numpy(dtype="int64"),
        "trait": "young_children",
        "has_trait": probability >= fitted.cut,
        "confidence": probability,
        "evidence": probability,
        "for_offers": probability >= fitted.offer_cut if fitted.offer_cut is not None else False,
    })
