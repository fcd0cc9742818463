"""A customer's rank in each category they bought, as the customer-360 file answers it: 1 + the
category's buyers who spent more + those who spent as much with a smaller customer id (the order
of category_pyramid's `category_rank`: spend descending, customer id ascending).

The file keeps, beside its category_pyramid levels, one row per category code and distinct spend
(RANKS_AHEAD, decision 0128): the buyers who spent more (`ahead`) and the customers at that spend
(`tied`). A full write counts it from the levels; a night that updates the levels in place moves
only what its changed keys move (decision 0132): the rows of the spends a customer left or reached
are counted again, and every other spend of the category shifts its `ahead` by the buyers who
crossed it.
"""

from __future__ import annotations

import duckdb

#: The 360 file's table of, per category code and distinct spend of category_pyramid, the buyers
#: who spent more (`ahead`), the buyers at that spend (`buyers`) and their ids (`tied`, in no
#: order, the customer themself included): a customer's rank in a category is 1 + ahead + the tied
#: with a smaller id. Indexed on `spend_key`, DuckDB's hash of (category code, spend): a point read
#: of a customer's spends.
RANKS_AHEAD = "category_ranks_ahead"


def count_ranks_ahead(con: duckdb.DuckDBPyConnection) -> None:
    """RANKS_AHEAD of the file's category_pyramid, counted whole: a group-by and a running sum over
    the distinct spends (no window over every row), in category and spend order, indexed."""
    con.execute(f"""CREATE TABLE {RANKS_AHEAD} AS
        SELECT category_code, category_spend, hash(category_code, category_spend) AS spend_key,
               (sum(count(*)) OVER (PARTITION BY category_code ORDER BY category_spend DESC
                                    ROWS UNBOUNDED PRECEDING) - count(*))::BIGINT AS ahead,
               count(*) AS buyers, list(customer_id) AS tied
        FROM category_pyramid GROUP BY category_code, category_spend
        ORDER BY category_code, category_spend""")
    con.execute(f"CREATE INDEX {RANKS_AHEAD}_key ON {RANKS_AHEAD} (spend_key)")


def move_ranks_ahead(con: duckdb.DuckDBPyConnection, before: str, after: str) -> None:
    """Bring RANKS_AHEAD from the levels it was counted on to the levels updated in place, given
    `before` and `after`: tables (customer_id, category_code, category_spend) of the keys whose
    rows were replaced, as they were and as they are (a key absent from one: bought on one side
    alone). Exact: `ahead` of a spend is the buyers above it, so it changes by the keys whose
    spend moved from above it to not above it, or back; `tied` changes only at the spends a key
    left or reached."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE spend_moves AS
        SELECT category_code, category_spend, customer_id, -1 AS buyers
        FROM {before} ANTI JOIN {after} USING (customer_id, category_code, category_spend)
        UNION ALL
        SELECT category_code, category_spend, customer_id, 1 AS buyers
        FROM {after} ANTI JOIN {before} USING (customer_id, category_code, category_spend)""")
    # per spend a key left or reached: the buyers it gained (net) and the net buyers gained at
    # that spend or above (`gained_from`)
    con.execute("""CREATE OR REPLACE TEMP TABLE moved_spends AS
        SELECT category_code, category_spend, sum(buyers) AS net,
               sum(sum(buyers)) OVER (PARTITION BY category_code ORDER BY category_spend DESC
                                      ROWS UNBOUNDED PRECEDING) AS gained_from
        FROM spend_moves GROUP BY category_code, category_spend""")
    # a spend's buyers gained above it: `gained_from` of the lowest moved spend above it
    gained_above = ("ASOF LEFT JOIN moved_spends above ON {row}.category_code = above.category_code "
                    "AND {row}.category_spend < above.category_spend")
    # the tied ids of the moved spends: their kept ids less who left, plus who came, as rows (a
    # list filtered by another list cost the product of their lengths: decision 0145)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE tied_now AS
        SELECT category_code, category_spend, list(customer_id) AS tied FROM (
            SELECT category_code, category_spend, customer_id FROM (
                SELECT category_code, category_spend, unnest(tied) AS customer_id
                FROM {RANKS_AHEAD} SEMI JOIN moved_spends USING (category_code, category_spend))
            ANTI JOIN (SELECT category_code, category_spend, customer_id FROM spend_moves WHERE buyers < 0)
                USING (category_code, category_spend, customer_id)
            UNION ALL
            SELECT category_code, category_spend, customer_id FROM spend_moves WHERE buyers > 0)
        GROUP BY category_code, category_spend""")
    # the moved spends' rows counted again: the buyers above them before (their row's `ahead`, or
    # for a spend new to the category the buyers at and above the lowest spend above it), plus
    # those gained above; the tied ids
    con.execute(f"""CREATE OR REPLACE TEMP TABLE respent AS
        SELECT moved.category_code, moved.category_spend,
               coalesce(kept.ahead, next_up.ahead + next_up.buyers, 0) + coalesce(above.gained_from, 0) AS ahead,
               coalesce(kept.buyers, 0) + moved.net AS buyers,
               coalesce(now.tied, []) AS tied
        FROM moved_spends moved
        LEFT JOIN (SELECT category_code, category_spend, ahead, buyers FROM {RANKS_AHEAD}) kept
            USING (category_code, category_spend)
        LEFT JOIN tied_now now USING (category_code, category_spend)
        ASOF LEFT JOIN (SELECT category_code, category_spend, ahead, buyers FROM {RANKS_AHEAD}) next_up
            ON moved.category_code = next_up.category_code
            AND moved.category_spend < next_up.category_spend
        {gained_above.format(row="moved")}""")
    con.execute(f"DELETE FROM {RANKS_AHEAD} USING moved_spends WHERE {RANKS_AHEAD}.category_code = "
                f"moved_spends.category_code AND {RANKS_AHEAD}.category_spend = moved_spends.category_spend")
    # every other spend: its buyers above changed by the net gained above it
    con.execute(f"""CREATE OR REPLACE TEMP TABLE shifted AS
        SELECT spend.spend_key, spend.category_code, spend.category_spend, above.gained_from AS shift
        FROM {RANKS_AHEAD} spend {gained_above.format(row="spend")}
        WHERE above.gained_from <> 0""")
    con.execute(f"""UPDATE {RANKS_AHEAD} SET ahead = ahead + shifted.shift FROM shifted
        WHERE {RANKS_AHEAD}.spend_key = shifted.spend_key AND {RANKS_AHEAD}.category_code = shifted.category_code
          AND {RANKS_AHEAD}.category_spend = shifted.category_spend""")
    con.execute(f"""INSERT INTO {RANKS_AHEAD}
        SELECT category_code, category_spend, hash(category_code, category_spend), ahead, buyers, tied
        FROM respent WHERE buyers > 0 ORDER BY category_code, category_spend""")


def ranked_categories(cursor: duckdb.DuckDBPyConnection, customer_id: int, limit: int) -> list[dict]:
    """The customer's `limit` best-ranked categories of category_pyramid, with their rank, from the
    360 file's levels and RANKS_AHEAD (decision 0128), as the stored rank gave them: department,
    category, category_rank, category_level, ordered by rank and category. Two point reads: the
    customer's rows (by the file's customer order), then their spends' rows of RANKS_AHEAD (by
    `spend_key`, integers given as constants: an index lookup)."""
    rows = cursor.execute(
        "SELECT department, category, category_code, category_spend, category_level, "
        "hash(category_code, category_spend) FROM customer_view.category_pyramid WHERE customer_id = ?",
        [customer_id]).fetchall()
    if not rows:
        return []
    # a file of before decision 0132 leaves `tied` null for a spend of one buyer
    rank_sql = f"ahead + 1 + coalesce(len(list_filter(tied, lambda x: x < {int(customer_id)})), 0)"
    keys = ", ".join(str(int(key)) for key in sorted({row[5] for row in rows}))
    ahead = {(code, spend): found for code, spend, found in cursor.execute(
        f"SELECT category_code, category_spend, {rank_sql} FROM customer_view.{RANKS_AHEAD} "
        f"WHERE spend_key IN ({keys})").fetchall()}
    for _, _, code, spend, _, _ in rows:
        if (code, spend) not in ahead:  # a key hashed otherwise (another DuckDB): read by the values
            ahead[(code, spend)] = cursor.execute(
                f"SELECT {rank_sql} FROM customer_view.{RANKS_AHEAD} WHERE category_code = ? AND category_spend = ?",
                [code, spend]).fetchone()[0]
    ranked = sorted(((ahead[(code, spend)], category, department, level)
                     for department, category, code, spend, level, _ in rows))
    return [{"department": department, "category": category, "category_rank": rank, "category_level": level}
            for rank, category, department, level in ranked[:limit]]
