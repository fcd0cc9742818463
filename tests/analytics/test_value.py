"""Value classes A/B/C and tiers platinum/gold/iron/lead, on any value column."""

import ibis

from clientele import analytics


def test_class_a_brings_the_first_80_percent_of_value_and_c_the_last_5(duckdb_con):
    # one customer brings 70% of the value, the next 20%, then 5 customers 2% each
    customers = ibis.memtable({"customer_id": list(range(7)), "spend": [70.0, 20.0, 2.0, 2.0, 2.0, 2.0, 2.0]})
    classes = analytics.value_classes(customers, "spend").execute().set_index("customer_id").sort_index()
    assert list(classes.value_class) == ["A", "A", "B", "B", "B", "C", "C"]


def test_value_tiers_take_any_value_column_such_as_predicted_lifetime_value(duckdb_con):
    customers = ibis.memtable({"customer_id": list(range(100)), "predicted_clv": [float(100 - i) for i in range(100)]})
    tiers = analytics.value_tiers(customers, "predicted_clv").value_tier.value_counts().execute()
    assert dict(zip(tiers.value_tier, tiers.value_tier_count)) == {"platinum": 5, "gold": 15, "iron": 30, "lead": 50}
