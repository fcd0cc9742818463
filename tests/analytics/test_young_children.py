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
