"""Brand habits, deals, household traits and share of wallet."""

from datetime import date, timedelta

from clientele import analytics
from clientele.analytics.brand_loyalty import category_names, category_sums
from clientele.analytics.traits import produce_totals, rolled_produce_totals
from clientele.lake.reader import basket_lines, read_table

AS_OF = date(2024, 12, 31)
START = AS_OF - timedelta(days=7 * 20)


def test_heavy_national_brand_buyers_of_a_category_come_in_one_call(lake_builder, duckdb_con):
    for customer in range(1, 10):  # national cereal buyers, spending 10..90 a week
        lake_builder.weekly(customer, START, 10, spend=10.0 * customer, product_id=1)
    for customer in range(10, 13):  # store-brand cereal buyers
        lake_builder.weekly(customer, START, 10, spend=50.0, product_id=2)
    lake_builder.weekly(13, START, 5, spend=40.0, product_id=1).weekly(13, START, 5, spend=40.0, product_id=2)
    lake = lake_builder.build()
    spend = analytics.category_spend(basket_lines(duckdb_con, lake), read_table(duckdb_con, "products", lake))
    cells = analytics.nine_cells(spend)
    heavy_national = analytics.cell_members(cells, "COLD CEREAL", "national", "high").execute()
    assert list(heavy_national.customer_id) == [9, 8, 7, 6]  # the top third of 13 cereal buyers by spend
    loyalty = cells.execute().set_index("customer_id").brand_loyalty
    assert loyalty[10] == "store" and loyalty[13] == "switcher" and loyalty[1] == "national"


def test_deal_proneness_is_the_share_of_spend_bought_on_a_deal(lake_builder, duckdb_con):
    lake_builder.basket(1, AS_OF, spend=30.0, retail_disc=5.0).basket(1, AS_OF, spend=70.0)
    lake_builder.basket(2, AS_OF, spend=50.0, coupon_disc=1.0)
    lake = lake_builder.build()
    deals = analytics.deal_proneness(analytics.baskets(basket_lines(duckdb_con, lake)), AS_OF).execute()
    assert deals.set_index("customer_id").deal_proneness.round(2).to_dict() == {1: 0.30, 2: 1.0}


def test_repeated_dog_food_makes_a_dog_owner_and_a_single_bag_does_not(lake_builder, duckdb_con):
    lake_builder.weekly(1, START, 6, product_id=4).basket(2, START, product_id=4).weekly(3, START, 6, product_id=3)
    lake = lake_builder.build()
    lines, products = basket_lines(duckdb_con, lake), read_table(duckdb_con, "products", lake)
    traits = analytics.household_traits(lines, products, analytics.category_spend(lines, products)).execute()
    dog = traits[traits.trait == "dog"].set_index("customer_id")
    assert dog.has_trait.to_dict() == {1: True, 2: False}
    assert dog.loc[1, "confidence"] == 0.75
    produce = traits[(traits.trait == "heavy_produce") & traits.has_trait]
    assert list(produce.customer_id) == [3]


def test_the_produce_shares_from_kept_totals_rolled_by_days_equal_those_of_the_category_spend(
        lake_builder, duckdb_con):
    # decision 0148: per customer, the produce and total spend kept as decimal sums, the days
    # entering the window added and those leaving it taken off, give the same traits to the bit
    for customer in range(1, 8):
        lake_builder.weekly(customer, START, 6, spend=3.3 * customer, product_id=3)
        lake_builder.weekly(customer, START + timedelta(days=2), 5, spend=7.1 + customer, product_id=customer % 3 + 1)
    lake_builder.mixed_basket(8, AS_OF, [(3, 0.1), (1, 0.2), (7, 0.7)]).basket(9, AS_OF, spend=-1.0, product_id=3)
    lake = lake_builder.build()
    lines, products = basket_lines(duckdb_con, lake), read_table(duckdb_con, "products", lake)
    categories = category_names(products)
    expected = analytics.household_traits(lines, products, analytics.category_spend(lines, products)).execute()
    kept = produce_totals(category_sums(lines.filter(lines.transaction_ts < START + timedelta(days=20)), products),
                          categories)
    added = category_sums(lines.filter(lines.transaction_ts >= START + timedelta(days=20)), products)
    taken = category_sums(lines.filter(lines.transaction_ts < START + timedelta(days=9)), products)
    # the window from START + 9 days, then its lines before START + 9 days put back as entering
    rolled = rolled_produce_totals(kept, produce_totals(added, categories),
                                   produce_totals(taken, categories))
    rolled = rolled_produce_totals(rolled, produce_totals(taken, categories), produce_totals(taken.limit(0), categories))
    traits = analytics.household_traits(lines, products, None, produce_sums=rolled).execute()
    order = ["trait", "customer_id"]
    assert traits.sort_values(order).reset_index(drop=True).equals(expected.sort_values(order).reset_index(drop=True))
    assert 9 not in set(traits[traits.trait == "heavy_produce"].customer_id)  # no spend: no share


def test_last_periods_top_customer_who_stopped_buying_is_reported_gone(lake_builder, duckdb_con):
    last_period = AS_OF - timedelta(days=300)
    lake_builder.weekly(1, last_period, 5, spend=500.0)  # the biggest customer last period, silent since
    for customer in range(2, 21):
        lake_builder.basket(customer, last_period, spend=10.0).basket(customer, AS_OF, spend=10.0)
    lake = lake_builder.build()
    top = analytics.year_over_year(analytics.baskets(basket_lines(duckdb_con, lake)), AS_OF, period_days=182,
                                   top_share=0.05).execute()
    assert list(top.customer_id) == [1] and not top.bought_again[0] and top.spend_change[0] == -1


def test_regular_customer_buying_one_department_is_a_narrow_basket(lake_builder, duckdb_con):
    lake_builder.weekly(1, START, 8, product_id=7)
    for product in (1, 3, 4, 5):
        lake_builder.weekly(2, START, 2, product_id=product)
    lake = lake_builder.build()
    spend = analytics.category_spend(basket_lines(duckdb_con, lake), read_table(duckdb_con, "products", lake))
    narrow = analytics.narrow_baskets(spend, analytics.baskets(basket_lines(duckdb_con, lake)), AS_OF).execute()
    assert narrow.set_index("customer_id").narrow.to_dict() == {1: True, 2: False}
