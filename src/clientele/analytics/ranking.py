"""Ranks, percentiles and running shares over a whole table, without gathering it in one partition.

A window with an order but no partition (`rank() OVER (ORDER BY spend)`) is computed by Spark in a
single partition: every row of the table moves to one machine, which a chain of 50M customers
does not fit. Here every such ranking is cut by ranges of the value it orders by (decision 0075):

1. The table's distinct values (a grouped count: as distributed as any aggregate) are cut into
   ranges at approximate quantiles of the values: each partition sketches its values, only the
   sketches meet, and the 63 cut points are read back and written into the query. A value's range
   is the number of cut points at or below it, so equal values always share a range and every value
   of a range comes before every value of the next one. Text is cut by its first character.
2. Within each range a window partitioned by the range counts the rows before each value.
3. Each range's offset is the count of rows in the ranges before it: the few per-range counts
   joined with themselves.

A value's rank is its rank within its range plus its range's offset: exactly the whole table's
rank, ties included, whatever the cut points (they only balance the ranges). Ranks are 0-based
as Ibis's `rank()`, `dense_rank()` and `row_number()` are; nulls come last, as on DuckDB.

A table read by DuckDB (one machine, whose own windows run on all its cores) is ranked by the
engine's own window instead: the same results, at a fraction of the cost of the range method
there (decision 0075). Tables of no backend (memtables) take the range method, so the tests check
it on both engines.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops

from ibis.common.exceptions import IbisError

from clientele.sums import exact_sum

#: Ranges a ranking is cut into: each range is ranked in one partition, so more ranges spread the
#: work wider; 64 keep a range of a 50M-customer table under a million rows.
RANGES = 64

_VALUE, _ROWS, _AMOUNT = "_rank_value", "_rank_rows", "_rank_amount"
_NULL, _RANGE = "_rank_null", "_rank_range"


def _on_one_machine(table: ibis.Table) -> bool:
    """Whether `table` is read by DuckDB, whose whole-table windows gather nothing across machines."""
    try:
        return table._find_backend(use_default=False).name == "duckdb"
    except IbisError:  # a memtable: no backend until executed
        return False


def value_order(
    table: ibis.Table, value: str, descending: bool = False, amount_decimals: int | None = None
) -> ibis.Table:
    """Per distinct value of `table[value]`, where it stands in the order of the whole table.

    Columns: _rank_value (the value), _rank_null (1 for the nulls, which come last, else 0),
    rows (rows holding the value), rows_before (rows whose value comes strictly before it),
    values_before (distinct values before it); with `amount_decimals`, also amount (the sum of
    the rows' values, each to that many decimals, exact) and amount_before (the same over the
    rows before it, exact).
    """
    sums = {"rows": ibis._.count()}
    if amount_decimals is not None:
        sums[_AMOUNT] = table[value].cast(f"decimal(18, {amount_decimals})").sum()
    groups = table.group_by(**{_VALUE: table[value]}).aggregate(**sums).rename(**{_ROWS: "rows"})
    ranged = _with_range(groups.mutate(**{_NULL: groups[_VALUE].isnull().cast("int8")}), descending)
    keys = [_NULL, _RANGE]
    order = ibis.desc(ranged[_VALUE]) if descending else ranged[_VALUE]
    upto = ibis.window(group_by=keys, order_by=order, preceding=None, following=0)
    within = ranged.mutate(
        rows_before_in=ranged[_ROWS].sum().over(upto) - ranged[_ROWS],
        values_before_in=ibis.row_number().over(group_by=keys, order_by=order),
        **({"amount_before_in": ranged[_AMOUNT].sum().over(upto) - ranged[_AMOUNT]} if amount_decimals is not None
           else {}),
    )
    offsets = _range_offsets(ranged, keys, with_amount=amount_decimals is not None)
    placed = within.join(offsets, keys)
    columns = {
        _VALUE: placed[_VALUE], _NULL: placed[_NULL], "rows": placed[_ROWS],
        "rows_before": _int64(placed.rows_before_in + placed.rows_offset),
        "values_before": _int64(placed.values_before_in + placed.values_offset),
    }
    if amount_decimals is not None:
        columns |= {"amount": placed[_AMOUNT], "amount_before": placed.amount_before_in + placed.amount_offset}
    return placed.select(**columns)


def _int64(count: ibis.Value) -> ibis.Value:
    """A sum of counts as int64: Ibis types it int64 already and would skip the cast, but DuckDB
    sums into 128-bit integers, which it writes to Parquet as doubles."""
    return ops.Cast(count, to=dt.int64).to_expr()


def _with_range(groups: ibis.Table, descending: bool) -> ibis.Table:
    """`groups` plus each value's range number, rising in the order (a function of the value alone)."""
    values = groups[_VALUE]
    if values.type().is_string():
        if descending:
            raise ValueError("text is ranked in ascending order only")
        return groups.mutate(**{_RANGE: values.substr(0, 1).fill_null("")})
    # the cut points are read once and written into the query as constants: a sketch computed
    # again in the same query may come out otherwise (its merges follow the threads), and every
    # use of a value's range must agree
    known = groups.filter(values.notnull())
    levels = [i / RANGES for i in range(1, RANGES)]
    points = known.aggregate(cuts=known[_VALUE].approx_quantile(levels)).to_pyarrow().column("cuts")[0].as_py()
    cuts = ibis.literal(sorted(set(points or [])), type=dt.Array(dt.float64))
    # how many cut points are at or below the value: equal values share it, higher values never get less
    at_or_below = cuts.filter(lambda point: point <= values.cast("float64")).length()
    ranges = (RANGES - at_or_below) if descending else at_or_below
    return groups.mutate(**{_RANGE: ibis.ifelse(values.isnull(), 0, ranges)})


def _range_offsets(ranged: ibis.Table, keys: list[str], with_amount: bool) -> ibis.Table:
    """Per range: the rows, distinct values (and amount) of the ranges before it."""
    sums = {"range_rows": ranged[_ROWS].sum(), "range_values": ranged.count()}
    if with_amount:
        sums["range_amount"] = ranged[_AMOUNT].sum()
    per_range = ranged.group_by(keys).aggregate(**sums)
    prior = per_range.view()
    earlier = (prior[_NULL] < per_range[_NULL]) | (
        (prior[_NULL] == per_range[_NULL]) & (prior[_RANGE] < per_range[_RANGE])
    )
    joined = per_range.left_join(prior, earlier)
    offsets = {
        "rows_offset": joined.range_rows_right.sum().fill_null(0),
        "values_offset": joined.range_values_right.sum().fill_null(0),
    }
    if with_amount:
        offsets["amount_offset"] = joined.range_amount_right.sum().fill_null(0)
    return joined.group_by(keys).aggregate(**offsets)


def _placed(table: ibis.Table, value: str, order: ibis.Table) -> ibis.Table:
    """`table` with its rows' places in `order` (`value_order`'s table) joined on the value."""
    keyed = table.mutate(**{_NULL: table[value].isnull().cast("int8"), _VALUE: table[value]})
    fill = "" if table[value].type().is_string() else 0
    joined = keyed.join(
        order,
        [keyed[_NULL] == order[_NULL], keyed[_VALUE].fill_null(fill) == order[_VALUE].fill_null(fill)],
    )
    return joined.drop(*[c for c in joined.columns if c in (_VALUE, _NULL, f"{_VALUE}_right", f"{_NULL}_right")])


def rank(table: ibis.Table, value: str, name: str, descending: bool = False) -> ibis.Table:
    """`table` plus `name`: each row's rank by `value`, 0-based, equal values sharing the lowest
    (as `ibis.rank()` over the whole table)."""
    return ranks(table, {name: value}, descending)


def ranks(table: ibis.Table, values: dict[str, str], descending: bool = False) -> ibis.Table:
    """`table` plus, for each name: value of `values`, the rows' rank by that value as `rank`
    gives it; each ranking is built on `table` itself, so one does not carry the others."""
    if _on_one_machine(table):
        return table.mutate(**{
            name: ibis.rank().over(order_by=ibis.desc(table[value]) if descending else table[value])
            for name, value in values.items()
        })
    ranked = table
    for name, value in values.items():
        placed = _placed(ranked, value, value_order(table, value, descending))
        ranked = placed.mutate(**{name: placed.rows_before}).drop("rows", "rows_before", "values_before")
    return ranked


def dense_rank(table: ibis.Table, value: str, name: str) -> ibis.Table:
    """`table` plus `name`: each row's dense rank by ascending `value`, 0-based (as
    `ibis.dense_rank()` over the whole table: equal values share it, with no gaps)."""
    if _on_one_machine(table):
        return table.mutate(**{name: ibis.dense_rank().over(order_by=table[value])})
    placed = _placed(table, value, value_order(table, value))
    return placed.mutate(**{name: placed.values_before}).drop("rows", "rows_before", "values_before")


def row_number(table: ibis.Table, value: str, key: str, name: str, descending: bool = True) -> ibis.Table:
    """`table` plus `name`: each row's number by `value` (highest first unless not `descending`),
    ties in `key` order, 0-based (as `ibis.row_number()` over the whole table). Rows of one value
    are numbered in one partition: only a tie is ever gathered."""
    if _on_one_machine(table):
        order = [ibis.desc(table[value]) if descending else table[value], table[key]]
        return table.mutate(**{name: ibis.row_number().over(order_by=order)})
    placed = _placed(table, value, value_order(table, value, descending))
    in_tie = ibis.row_number().over(group_by=placed[value], order_by=placed[key])
    return placed.mutate(**{name: placed.rows_before + in_tie}).drop("rows", "rows_before", "values_before")


def with_total(table: ibis.Table, source: ibis.Table, **totals: ibis.Scalar) -> ibis.Table:
    """`table` with aggregates of the whole `source` table (such as its row count) on every row:
    the one-row aggregate joined on, where `.over()` without a partition would gather the table
    in one partition."""
    return table.cross_join(source.aggregate(**totals))


def running_amount_before(table: ibis.Table, value: str, key: str, name: str, decimals: int) -> ibis.Table:
    """`table` plus `name`: the sum of `value` over the rows before each row, best first (highest
    value first, ties in `key` order), and `name`_total: the sum over every row; each value to
    `decimals` decimals and summed exactly (decision 0012), returned as float64."""
    if _on_one_machine(table):
        exact_value = table[value].cast(f"decimal(18, {decimals})")
        upto = ibis.window(order_by=[ibis.desc(table[value]), table[key]], preceding=None, following=0)
        summed = table.mutate(**{name: (exact_value.sum().over(upto) - exact_value).cast("float64")})
        return with_total(summed, table, **{f"{name}_total": exact_sum(table[value], decimals)})
    order = value_order(table, value, descending=True, amount_decimals=decimals)
    placed = _placed(table, value, order)
    in_tie = ibis.row_number().over(group_by=placed[value], order_by=placed[key]).cast("decimal(18, 0)")
    exact_value = placed[value].cast(f"decimal(18, {decimals})")
    before = placed.amount_before + exact_value * in_tie
    summed = placed.mutate(**{name: before.cast("float64")}).drop(
        "rows", "rows_before", "values_before", "amount", "amount_before"
    )
    return with_total(summed, table, **{f"{name}_total": exact_sum(table[value], decimals)})


def exact_quantile(table: ibis.Table, value: str, quantile: float) -> ibis.Table:
    """A one-row table: `quantile` (0..1) of `table[value]`, interpolated between the two values
    around it as the engine's own quantile is, nulls left out (null without values). Exact: the two
    values are found by their places in the order, never by sorting the table in one partition;
    the engine's quantile then interpolates between those two alone, so its rounding is kept."""
    if _on_one_machine(table):
        return table.aggregate(quantile=table[value].quantile(quantile))
    known = table.filter(table[value].notnull())
    count = known.count().to_pyarrow().as_py()
    position = (count - 1) * quantile
    low, fraction = int(position // 1), position - position // 1
    high = low + (fraction > 0)
    order = value_order(known, value)
    holds = lambda index: (order.rows_before <= index) & (index < order.rows_before + order.rows)  # noqa: E731
    ends = order.aggregate(
        low=order[_VALUE].cast("float64").max(where=holds(low)),
        high=order[_VALUE].cast("float64").max(where=holds(high)),
    )
    pair = ends.select(end=ends.low).union(ends.select(end=ends.high), distinct=False)
    # between two values at `fraction`, the engine's quantile computes exactly what it would
    # between the same two values inside the whole table
    return pair.aggregate(quantile=pair.end.quantile(fraction))
