"""The check that finds, in a Spark plan, the operators that move all their rows into one partition
(the refresh is checked with it in test_refresh_and_parity.py)."""

import ibis
import pytest

from clientele.engine import gathering_operators, recorded_spark_plans

pytestmark = pytest.mark.spark


def test_a_window_without_partition_is_found_in_its_plan(spark_engine):
    """The check itself: today's kind of global ranking is reported, its partitioned form is not."""
    table = ibis.memtable({"customer_id": [1, 2, 3], "spend": [5.0, 7.0, 5.0], "store": [1, 1, 2]})
    with recorded_spark_plans(spark_engine) as plans:
        spark_engine.execute(table.mutate(rank=ibis.rank().over(order_by=table.spend)))
        spark_engine.execute(table.mutate(rank=ibis.rank().over(group_by=table.store, order_by=table.spend)))
    whole, by_store = plans[-2:]
    assert gathering_operators(whole) and gathering_operators(by_store) == []


def test_a_global_aggregate_is_not_a_gathering_but_an_exact_percentile_is(spark_engine):
    """A count moves one partial count per partition; an exact percentile moves every value, and so
    does a list collected over the whole table, but not one collected per key (decision 0144)."""
    table = ibis.memtable({"spend": [5.0, 7.0, 5.0, 9.0], "basket": ["a", "a", "b", "c"]})
    with recorded_spark_plans(spark_engine) as plans:
        spark_engine.execute(table.aggregate(baskets=table.count(), spend=table.spend.sum()))
        spark_engine.execute(table.aggregate(cap=table.spend.quantile(0.99)))
        spark_engine.execute(table.aggregate(spends=table.spend.collect()))
        spark_engine.execute(table.group_by("basket").aggregate(spends=table.spend.collect().unique()))
    counted, percentile, listed, per_basket = plans[-4:]
    assert gathering_operators(counted) == [] and gathering_operators(percentile)
    assert gathering_operators(listed) and gathering_operators(per_basket) == []
