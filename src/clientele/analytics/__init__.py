"""Customer analytics: pure functions, Ibis table in, Ibis table out, on DuckDB or Spark.

For a notebook, everything is here by purpose::

    from clientele import analytics
    from clientele.engine import connect
    from clientele.lake.reader import basket_lines, read_table

    con = connect()
    baskets = analytics.baskets(basket_lines(con))
    as_of = analytics.last_day(baskets)
    analytics.rfm(baskets, as_of).execute()
    cells = analytics.nine_cells(analytics.category_spend(basket_lines(con), read_table(con, "products")))
    analytics.cell_members(cells, "COLD CEREAL", "national", "high").execute()
"""

from clientele.analytics.baskets import baskets, in_window, last_day
from clientele.analytics.brand_loyalty import (
    BrandLoyaltyRules,
    category_spend,
    cell_counts,
    cell_members,
    nine_cells,
)
from clientele.analytics.deal_proneness import deal_proneness
from clientele.analytics.lifecycle import (
    LifecycleRules,
    current_stage,
    lifecycle_history,
    lifecycle_month,
    next_stage,
    refresh_flows,
    stage_flows,
)
from clientele.analytics.pyramid import (
    PyramidCutoffs,
    assign_levels,
    category_cuts,
    category_levels,
    category_levels_delta,
    category_levels_within_cuts,
    category_pyramid,
    customer_pyramid,
    level_summary,
    spend_distribution,
    updated_distribution,
)
from clientele.analytics.rfm import SegmentGrid, rfm, segment_grid_counts
from clientele.analytics.traits import (
    TraitRules,
    household_traits,
    household_traits_learnt,
    trait_accuracy,
    trait_quality,
)
from clientele.analytics.value import ValueClassShares, ValueTierShares, value_classes, value_tiers
from clientele.analytics.wallet import narrow_baskets, year_over_year

__all__ = [
    "BrandLoyaltyRules",
    "LifecycleRules",
    "PyramidCutoffs",
    "SegmentGrid",
    "TraitRules",
    "ValueClassShares",
    "ValueTierShares",
    "assign_levels",
    "baskets",
    "category_cuts",
    "category_levels",
    "category_levels_delta",
    "category_levels_within_cuts",
    "category_pyramid",
    "category_spend",
    "cell_counts",
    "cell_members",
    "current_stage",
    "customer_pyramid",
    "deal_proneness",
    "household_traits",
    "household_traits_learnt",
    "in_window",
    "last_day",
    "level_summary",
    "lifecycle_history",
    "lifecycle_month",
    "narrow_baskets",
    "next_stage",
    "nine_cells",
    "rfm",
    "segment_grid_counts",
    "spend_distribution",
    "stage_flows",
    "refresh_flows",
    "trait_accuracy",
    "trait_quality",
    "updated_distribution",
    "value_classes",
    "value_tiers",
    "year_over_year",
]
