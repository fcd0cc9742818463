"""What the cashier is told at identify: categories bought together more often than chance (the
catalogue relation mined from the baskets), each customer's top categories and last purchase."""

from datetime import date, timedelta

import pandas as pd
import pytest

from clientele.analytics.margin import customer_margin
from clientele.analytics.till_context import PairRules, complementary_categories, till_context
from clientele.analytics import category_spend
from clientele.lake.reader import basket_lines, read_table

DOG, CAT, BEEF, VEG, CEREAL, DIAPERS = 4, 6, 7, 3, 1, 5
DAY = date(2024, 6, 1)


@pytest.fixture
def paired_lake(lake_builder):
    """100 baskets of 100 customers: dog and cat food always together (20), beef alone (40), beef
    with vegetables (20), cereal alone (20); and 5 baskets of cereal with diapers."""
    customer = iter(range(1, 1000))
    for _ in range(20):
        lake_builder.mixed_basket(next(customer), DAY, [(DOG, 10.0), (CAT, 5.0)])
    for _ in range(40):
        lake_builder.mixed_basket(next(customer), DAY, [(BEEF, 12.0)])
    for _ in range(20):
        lake_builder.mixed_basket(next(customer), DAY, [(BEEF, 12.0), (VEG, 3.0)])
    for _ in range(20):
        lake_builder.mixed_basket(next(customer), DAY, [(CEREAL, 4.0)])
    for _ in range(5):
        lake_builder.mixed_basket(next(customer), DAY, [(CEREAL, 4.0), (DIAPERS, 9.0)])
    return lake_builder.build()


def _pairs(con, lake, rules):
    return complementary_categories(basket_lines(con, lake), read_table(con, "products", lake), rules=rules)


def test_categories_bought_together_more_than_chance_are_paired_by_their_lift(paired_lake, con):
    pairs = _pairs(con, paired_lake, PairRules(min_baskets=20, min_lift=1.5)).execute()

    found = {(row.category, row.goes_with): row for row in pairs.itertuples()}
    assert set(found) == {("DOG FOODS", "CAT FOOD"), ("CAT FOOD", "DOG FOODS"), ("BEEF", "VEGETABLES"),
                          ("VEGETABLES", "BEEF")}
    # 105 baskets; dog food in 20, cat food in 20, both in 20: 20 x 105 / (20 x 20)
    assert found["DOG FOODS", "CAT FOOD"].lift == pytest.approx(20 * 105 / (20 * 20))
    assert found["DOG FOODS", "CAT FOOD"].confidence == pytest.approx(1.0)
    # beef in 60, vegetables in 20, both in 20: 20 x 105 / (60 x 20); all vegetable baskets hold beef
    assert found["VEGETABLES", "BEEF"].lift == pytest.approx(20 * 105 / (60 * 20))
    assert found["BEEF", "VEGETABLES"].confidence == pytest.approx(20 / 60)


def test_pairs_below_the_lift_or_the_basket_count_are_left_out(paired_lake, con):
    strict = _pairs(con, paired_lake, PairRules(min_baskets=20, min_lift=2.0)).execute()
    few = _pairs(con, paired_lake, PairRules(min_baskets=5, min_lift=1.5)).execute()

    assert set(zip(strict.category, strict.goes_with)) == {("DOG FOODS", "CAT FOOD"), ("CAT FOOD", "DOG FOODS")}
    # cereal with diapers: only 5 baskets, kept once 5 baskets are enough
    assert ("DIAPERS & DISPOSABLES", "COLD CEREAL") not in set(zip(strict.category, strict.goes_with))
    assert ("DIAPERS & DISPOSABLES", "COLD CEREAL") in set(zip(few.category, few.goes_with))


def test_a_customer_is_described_by_their_top_categories_and_last_purchase_with_what_goes_with_it(
        lake_builder, con):
    for _ in range(20):
        lake_builder.mixed_basket(None, DAY, [(DOG, 10.0), (CAT, 5.0)])  # anonymous: not counted
    lake_builder.mixed_basket(7, DAY - timedelta(days=30), [(BEEF, 80.0), (CEREAL, 3.0)])
    lake_builder.mixed_basket(7, DAY - timedelta(days=20), [(VEG, 20.0)])
    lake_builder.mixed_basket(7, DAY, [(CAT, 4.0), (DOG, 30.0), (CEREAL, 2.0)])
    for customer in range(100, 120):
        lake_builder.mixed_basket(customer, DAY, [(DOG, 10.0), (CAT, 5.0)])
    for customer in range(200, 260):
        lake_builder.mixed_basket(customer, DAY, [(BEEF, 10.0)])
    lake = lake_builder.build()
    lines, products = basket_lines(con, lake), read_table(con, "products", lake)
    pairs = complementary_categories(lines, products, rules=PairRules(min_baskets=20, min_lift=1.5))

    context = till_context(lines, products, category_spend(lines, products), pairs).execute()

    seven = context[context.customer_id == 7].iloc[0]
    assert [seven.top_category_1, seven.top_category_2, seven.top_category_3] == ["BEEF", "DOG FOODS", "VEGETABLES"]
    assert seven.last_bought == "DOG FOODS"  # the dearest line of the last basket
    assert str(seven.last_bought_on)[:10] == DAY.isoformat()
    assert seven.goes_with == "CAT FOOD"
    beef_only = context[context.customer_id == 200].iloc[0]
    assert beef_only.last_bought == "BEEF" and pd.isna(beef_only.goes_with)  # nothing goes with beef here
    assert beef_only.top_category_1 == "BEEF" and pd.isna(beef_only.top_category_2)


def test_margin_is_net_sales_times_the_margin_rate(lake_builder, con):
    lake_builder.mixed_basket(1, DAY, [(BEEF, 80.0), (VEG, 20.0)]).mixed_basket(1, DAY, [(DOG, 10.0)])
    lake_builder.mixed_basket(2, DAY, [(CAT, 4.0)])
    lake = lake_builder.build()

    margins = customer_margin(basket_lines(con, lake), 0.3).execute().set_index("customer_id")

    assert margins.loc[1, "net_sales"] == pytest.approx(110.0) and margins.loc[1, "baskets"] == 2
    assert margins.loc[1, "estimated_margin"] == pytest.approx(33.0)
    assert margins.loc[2, "estimated_margin"] == pytest.approx(1.2)
    with pytest.raises(ValueError, match="margin_rate"):
        customer_margin(basket_lines(con, lake), 1.5)
