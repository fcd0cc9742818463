"""Young children learnt from the households that declared their composition."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clientele.analytics import young_children
from clientele.lake.reader import basket_lines, read_table
from clientele.refresh import refresh

AS_OF = date(2024, 12, 31)
CEREAL, BEEF, DIAPERS = 1, 7, 5


@pytest.fixture
def declared_lake(lake_builder):
    """120 households: those with children (every third) buy cereal weekly, the others beef; a few
    of each buy the other's products too. The first 90 declared their composition."""
    first = AS_OF - timedelta(days=7 * 20)
    for customer in range(1, 121):
        with_children = customer % 3 == 0
        lake_builder.weekly(customer, first, weeks=12, spend=20.0, product_id=CEREAL if with_children else BEEF)
        lake_builder.weekly(customer, first + timedelta(days=3), weeks=3 + customer % 4, spend=15.0,
                            product_id=BEEF if with_children else CEREAL)
        if customer % 10 == 1:
            lake_builder.weekly(customer, first, weeks=2, spend=10.0, product_id=DIAPERS)  # a grandparent's gift
    lake = lake_builder.build()
    (lake / "demographics").mkdir()
    declared = list(range(1, 91))
    pq.write_table(pa.table({
        "customer_id": pa.array(declared, pa.int64()),
        "kids_count": ["1" if customer % 3 == 0 else "0" for customer in declared],
    }), lake / "demographics" / "demographics.parquet")
    return lake


def test_households_with_children_are_found_by_a_model_that_never_saw_them(declared_lake, duckdb_con):
    features = young_children.household_features(
        basket_lines(duckdb_con, declared_lake), read_table(duckdb_con, "products", declared_lake))
    truth = young_children.has_children(read_table(duckdb_con, "demographics", declared_lake))

    measured = young_children.cross_validated_accuracy(features, truth)

    assert measured["households"] == 90 and measured["with_children"] == 30
    assert measured["precision"] >= 0.9 and measured["recall"] >= 0.9


def test_the_refresh_scores_every_customer_with_the_learnt_trait_and_its_confidence(declared_lake, con, duckdb_con):
    refresh(lake=declared_lake, refresh_date=date(2025, 1, 1), con=con, as_of=AS_OF)

    traits = read_table(duckdb_con, "results/traits", declared_lake)
    children = traits.filter(traits.trait == "young_children").execute().set_index("customer_id")
    assert len(children) == 120  # undeclared households are scored too
    assert children.confidence.between(0, 1).all()
    flagged = set(children.index[children.has_trait])
    assert flagged == {customer for customer in range(1, 121) if customer % 3 == 0}


def test_the_offer_cut_keeps_held_out_precision_at_0_7_and_says_the_recall_it_leaves(declared_lake, duckdb_con):
    features = young_children.household_features(
        basket_lines(duckdb_con, declared_lake), read_table(duckdb_con, "products", declared_lake))
    truth = young_children.has_children(read_table(duckdb_con, "demographics", declared_lake))

    measured = young_children.cross_validated_accuracy(features, truth)

    assert measured["offer_predicted"] >= 10 and measured["offer_precision"] >= 0.7
    assert 0 < measured["offer_recall"] <= 1


def test_the_refresh_publishes_each_traits_held_out_precision_and_offers_use_only_precise_ones(declared_lake, duckdb_con):
    refresh(lake=declared_lake, refresh_date=date(2025, 1, 1), con=duckdb_con, as_of=AS_OF)

    quality = read_table(duckdb_con, "results/trait_quality", declared_lake).execute().set_index("trait")
    assert quality.loc["young_children", "kind"] == "prediction"
    assert quality.loc["young_children", "held_out_precision"] >= 0.7 and quality.loc["young_children", "used_for_offers"]
    rules = quality[quality.kind == "rule"]
    assert set(rules.index) == {"dog", "cat", "heavy_produce"} and rules.held_out_precision.isna().all()
    traits = read_table(duckdb_con, "results/traits", declared_lake).execute()
    children = traits[traits.trait == "young_children"]
    assert (children.kind == "prediction").all() and children.for_offers.any()
    assert children[children.for_offers].has_trait.all()  # the offer cut is never looser than the hint's


def test_a_prediction_that_cannot_reach_0_7_held_out_precision_drives_no_offer(lake_builder, duckdb_con):
    # households with and without children buy alike: nothing tells them apart
    first = AS_OF - timedelta(days=7 * 20)
    for customer in range(1, 121):
        lake_builder.weekly(customer, first, weeks=5 + customer % 7, spend=20.0, product_id=CEREAL)
        lake_builder.weekly(customer, first + timedelta(days=2), weeks=2 + customer % 5, spend=15.0, product_id=BEEF)
    lake = lake_builder.build()
    (lake / "demographics").mkdir()
    pq.write_table(pa.table({"customer_id": pa.array(range(1, 121), pa.int64()),
                             "kids_count": ["1" if (customer * 7) % 3 == 0 else "0" for customer in range(1, 121)]}),
                   lake / "demographics" / "demographics.parquet")
    refresh(lake=lake, refresh_date=date(2025, 1, 1), con=duckdb_con, as_of=AS_OF)

    quality = read_table(duckdb_con, "results/trait_quality", lake).execute().set_index("trait")
    assert not quality.loc["young_children", "used_for_offers"]
    traits = read_table(duckdb_con, "results/traits", lake).execute()
    assert not traits[traits.trait == "young_children"].for_offers.any()
