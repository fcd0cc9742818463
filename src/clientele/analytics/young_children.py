"""Young children in the household, learnt from the households that declared their composition.

The baby-category rule of `traits` flags households that buy diapers or baby food; most children
are past that age, and grandparents buy baby products too. When the lake holds demographics (the
Complete Journey's 801 households with `kids_count`), a logistic regression learns the basket
profile of a household with children instead: its share of spend on each child-related category
(`CHILD_CATEGORY_WORDS`: baby products, but also cereal, juice, snacks, milk, lunch meat...) and
its basket habits (spend, lines and quantity per basket, baskets per week), square-root scaled and
standardised, strongly regularised (C = `regularisation`). The cut on the predicted probability
is the one where precision and recall are closest on the training households, found by
cross-validation inside them, so every household is scored by a model that never saw its label.
The confidence of a household is its predicted probability.
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


def fit(features: pd.DataFrame, truth: pd.Series, rules: ChildModelRules = ChildModelRules()):
    """The fitted model and its cut, chosen by cross-validation inside these households only."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x, y = features.to_numpy(), truth.to_numpy().astype(int)
    folds = StratifiedKFold(rules.folds, shuffle=True, random_state=0)
    inner = cross_val_predict(_model(rules), x, y, cv=folds, method="predict_proba")[:, 1]
    return _model(rules).fit(x, y), _balanced_cut(y, inner)


def labelled(features: pd.DataFrame, truth: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The households with both basket features and a declared composition, in the same order."""
    ids = features.index.intersection(truth.index)
    return features.loc[ids], truth.loc[ids]


def cross_validated_accuracy(
    features: pd.DataFrame, truth: pd.Series, rules: ChildModelRules = ChildModelRules()
) -> dict:
    """Precision and recall on households never seen by the model that scored them.

    Outer `folds`-fold cross-validation over the labelled households; in each, the model and its
    cut are fitted on the other folds only. Returns households, with_children, predicted,
    true_positives, precision and recall (0..1).
    """
    from sklearn.model_selection import StratifiedKFold

    x, y = labelled(features, truth)
    predicted = pd.Series(False, index=x.index)
    for train, test in StratifiedKFold(rules.folds, shuffle=True, random_state=1).split(x, y):
        model, cut = fit(x.iloc[train], y.iloc[train], rules)
        predicted.iloc[test] = model.predict_proba(x.iloc[test].to_numpy())[:, 1] >= cut
    hits = int((predicted & y).sum())
    return {
        "households": len(y), "with_children": int(y.sum()), "predicted": int(predicted.sum()),
        "true_positives": hits,
        "precision": round(float(hits / predicted.sum()), 3) if predicted.sum() else 0.0,
        "recall": round(float(hits / y.sum()), 3) if y.sum() else 0.0,
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


def score(features: pd.DataFrame, truth: pd.Series, rules: ChildModelRules = ChildModelRules()) -> pd.DataFrame | None:
    """Every customer's young-children trait from a model fitted on the labelled households.

    Columns: customer_id, trait ('young_children'), has_trait, confidence (the predicted probability,
    0..1) and evidence (the same probability). None when fewer than `min_labelled` households are
    labelled (the caller keeps the baby-category rule).
    """
    x, y = labelled(features, truth)
    if len(y) < rules.min_labelled or y.nunique() < 2:
        return None
    model, cut = fit(x, y, rules)
    probability = model.predict_proba(features.to_numpy())[:, 1]
    return pd.DataFrame({
        "customer_id": features.index.to_numpy(dtype="int64"),
        "trait": "young_children",
        "has_trait": probability >= cut,
        "confidence": probability,
        "evidence": probability,
    })
