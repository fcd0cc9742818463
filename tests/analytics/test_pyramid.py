"""The customer pyramid: 1/4/15/80%, not fooled by bulk purchases, and per category."""

from datetime import date, timedelta

import ibis

from clientele import analytics
from clientele.lake.reader import basket_lines, read_table
from clientele.reports.summary import compute, rule_text

AS_OF = date(2024, 12, 31)


def test_thousand_customers_give_10_vip_40_major_150_medium_800_small(duckdb_con):
    customers = ibis.memtable({"customer_id": list(range(1000)), "spend": [float(i) for i in range(1000)]})
    levels = analytics.assign_levels(customers, "spend").pyramid_level.value_counts().execute()
    assert dict(zip(levels.pyramid_level, levels.pyramid_level_count)) == {
        "VIP": 10, "major": 40, "medium": 150, "small": 800,
    }



def test_fifty_customers_round_half_a_vip_up_to_one(duckdb_con):
    # 1% of 50 is 0.5 and 5% is 2.5: halves round up, so the best customer is a VIP and 2 are major
    customers = ibis.memtable({"customer_id": list(range(50)), "spend": [float(i) for i in range(50)]})
    levels = analytics.assign_levels(customers, "spend").pyramid_level.value_counts().execute()
    assert dict(zip(levels.pyramid_level, levels.pyramid_level_count)) == {
        "VIP": 1, "major": 2, "medium": 7, "small": 40,
    }

def test_single_huge_basket_does_not_make_a_vip(lake_builder, duckdb_con):
    # 199 regular weekly shoppers spending 20..218 a week; customer 999 came once and spent 20,000
    for customer in range(1, 200):
        lake_builder.weekly(customer, AS_OF - timedelta(days=7 * 51), weeks=52, spend=19.0 + customer)
    lake_builder.basket(999, AS_OF - timedelta(days=100), spend=20000.0)
    lake = lake_builder.build()
    pyramid = analytics.customer_pyramid(analytics.baskets(basket_lines(duckdb_con, lake)), AS_OF).execute()
    by_customer = pyramid.set_index("customer_id")
    assert by_customer.loc[999, "spend"] > by_customer.spend.drop(999).max()  # biggest raw spend of all
    assert by_customer.loc[999, "pyramid_level"] == "small"
    assert set(by_customer[by_customer.pyramid_level == "VIP"].index) == {198, 199}


def test_customer_top_in_one_category_is_found_although_small_overall(lake_builder, duckdb_con):
    for customer in range(1, 101):
        lake_builder.weekly(customer, AS_OF - timedelta(days=7 * 20), weeks=20, spend=100.0 + customer, product_id=7)
        lake_builder.basket(customer, AS_OF - timedelta(days=3), spend=2.0, product_id=4)
    lake_builder.weekly(500, AS_OF - timedelta(days=7 * 20), weeks=20, spend=10.0, product_id=4)  # the dog person
    lake = lake_builder.build()
    baskets = analytics.baskets(basket_lines(duckdb_con, lake))
    overall = analytics.customer_pyramid(baskets, AS_OF).execute().set_index("customer_id")
    spend = analytics.category_spend(basket_lines(duckdb_con, lake), read_table(duckdb_con, "products", lake))
    by_category = analytics.category_pyramid(spend).execute()
    dog_vip = by_category[(by_category.category == "DOG FOODS") & (by_category.category_level == "VIP")]
    assert overall.loc[500, "pyramid_level"] == "small"
    assert list(dog_vip.customer_id) == [500]


def test_each_category_is_cut_by_its_own_number_of_buyers(duckdb_con):
    # 100 buyers of cereal and 300 of vegetables: 1% VIP is 1 cereal buyer and 3 vegetable buyers
    rows = [(customer, "GROCERY", "COLD CEREAL", 0, float(customer)) for customer in range(100)]
    rows += [(customer, "PRODUCE", "VEGETABLES", 1, float(customer)) for customer in range(300)]
    spend = ibis.memtable(
        rows, columns=["customer_id", "department", "category", "category_code", "category_spend"]
    ).mutate(store_brand_spend=0.0)
    by_category = analytics.category_pyramid(spend).execute()
    counts = by_category.groupby(["department", "category", "category_level"]).size().to_dict()
    assert counts == {
        ("GROCERY", "COLD CEREAL", "VIP"): 1, ("GROCERY", "COLD CEREAL", "major"): 4,
        ("GROCERY", "COLD CEREAL", "medium"): 15, ("GROCERY", "COLD CEREAL", "small"): 80,
        ("PRODUCE", "VEGETABLES", "VIP"): 3, ("PRODUCE", "VEGETABLES", "major"): 12,
        ("PRODUCE", "VEGETABLES", "medium"): 45, ("PRODUCE", "VEGETABLES", "small"): 240,
    }
    best_vegetables = by_category[(by_category.category == "VEGETABLES") & (by_category.category_rank <= 3)]
    assert sorted(best_vegetables.customer_id) == [297, 298, 299]
    assert list(by_category.columns) == list(spend.columns) + ["category_rank", "category_level"]


def test_equal_spends_tie_whatever_order_the_engine_adds_them_in(lake_builder, duckdb_con):
    # the same three baskets in two orders: as floats 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1, and the
    # customers would swap ranks between runs whose threads meet the rows in another order
    for day, spend in enumerate([0.30, 0.20, 0.10]):
        lake_builder.basket(1, AS_OF - timedelta(days=10 - day), spend=spend)
    for day, spend in enumerate([0.10, 0.20, 0.30]):
        lake_builder.basket(2, AS_OF - timedelta(days=10 - day), spend=spend)
    lake = lake_builder.build()
    baskets = analytics.baskets(basket_lines(duckdb_con, lake))
    pyramid = analytics.customer_pyramid(baskets, AS_OF).execute().set_index("customer_id")
    rfm = analytics.rfm(baskets, AS_OF).execute().set_index("customer_id")
    assert rfm.loc[1, "monetary"] == rfm.loc[2, "monetary"] == 0.6
    assert pyramid.loc[1, "capped_spend"] == pyramid.loc[2, "capped_spend"]
    assert pyramid.value_rank.to_dict() == {1: 1, 2: 2}  # a tie goes to the lower customer id


def test_one_bulk_basket_makes_no_vip_in_the_summary_either(lake_builder, duckdb_con):
    for customer in range(1, 200):
        lake_builder.weekly(customer, date(2024, 1, 5), weeks=52, spend=19.0 + customer)
    lake_builder.basket(999, date(2024, 9, 1), spend=20000.0)
    report = compute(basket_lines(duckdb_con, lake_builder.build()))
    assert 999 not in [row["customer_id"] for row in report.top_customers]
    assert {row["customer_id"] for row in report.top_customers[:2]} == {198, 199}  # both above the cap: a tie
    assert "each basket counted at most" in rule_text(report.pyramid_rule)
