"""Brand habits, deals, household traits and share of wallet."""

from datetime import date, timedelta

from clientele import analytics
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
