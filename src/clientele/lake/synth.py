"""A synthetic transaction lake: same schema, realistic shape, any size (up to 100M+ lines).

Generated entirely in DuckDB SQL, one month partition at a time, so memory stays bounded whatever
the size. The shape follows the Complete Journey:
- customers' shopping rates are log-normal (a heavy tail: a few households buy every other day, most
  a couple of times a month); 80% are there from the first month, the rest join later, and one in
  five leaves at some month;
- baskets hold 1 + an exponential number of lines (mean about 9), mostly on Fridays to Sundays;
- products are drawn from the lake's real products table (so categories and the national /
  private-label mix are the real ones), popular products much more often, each customer with their
  own store-brand affinity;
- about a third of the lines carry a loyalty-card discount, 1% a coupon.
Drawn by rate, most customers of a large lake get one basket or none. `everyone_shops_in` (off by
default) adds one basket per customer in one of the chosen months, so that every customer is active
there: a lake where every customer is ranked, at the cost of a basket (about 9.4 lines) a customer.
Randomness is a hash of the seed and the row numbers: the same arguments give the same lake.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress

from clientele.lake.schema import BASKET_LINE_SQL_TYPES, BASKET_LINES

MEAN_EXTRA_LINES = 8.4  # mean basket = 1 + 8.4 lines, as in the Complete Journey (9.4)


@dataclass
class SynthResult:
    """What was generated: customers, baskets, lines, months and the folder."""

    out: Path
    customers: int
    baskets: int
    lines: int
    months: int


def _uniform(*parts: str) -> str:
    """SQL for a uniform number in [0, 1) drawn from the hash of the seed and the given SQL parts."""
    return f"(hash({', '.join(parts)}, $seed) % 1000000007) / 1000000007.0"


def _normal(*parts: str) -> str:
    """SQL for a standard normal number (Box-Muller on two hashed uniforms)."""
    first, second = _uniform(*parts, "1"), _uniform(*parts, "2")
    return f"(sqrt(-2 * ln(1 - {first})) * cos(2 * pi() * {second}))"


def synthesize(
    out: Path,
    customers: int,
    lines: int,
    products_file: Path,
    months: int = 24,
    first_month: date = date(2024, 1, 1),
    seed: int = 42,
    memory_limit: str = "4GB",
    console: Console | None = None,
    everyone_shops_in: Sequence[int] | None = None,
) -> SynthResult:
    """Write a synthetic lake to `out`: basket_lines partitioned by month, and the products table.

    About `lines` basket lines (the exact number is returned) by `customers` customers over
    `months` months starting at `first_month`, from the products of `products_file` (Parquet).

    `everyone_shops_in`: months (0 = `first_month`) in which every customer shops: each customer
    gets one basket more in one of them (drawn per customer, uniformly) and is a customer then (joins
    no later, leaves no earlier). Those baskets count in `lines`: the baskets drawn by rate are the
    rest (none when they take every line). None, the default, adds nothing: the lake is the one
    the generator always made.
    """
    if customers < 1 or lines < 1 or months < 1:
        raise ValueError("customers, lines and months must be positive")
    sure = sorted(set(everyone_shops_in)) if everyone_shops_in is not None else None
    if sure is not None and (not sure or not all(0 <= m < months for m in sure)):
        raise ValueError(f"everyone_shops_in must name months of the lake (0 to {months - 1})")
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    shutil.rmtree(out / BASKET_LINES, ignore_errors=True)
    (out / "products").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(products_file, out / "products" / "products.parquet")
    params = {"seed": seed}
    con.execute(
        f"""
        CREATE TABLE shelf AS
        SELECT list(product_id ORDER BY hash(product_id, $seed)) FILTER (brand_type = 'Private') AS private,
               list(product_id ORDER BY hash(product_id, $seed)) FILTER (brand_type IS DISTINCT FROM 'Private')
                 AS national
        FROM read_parquet('{products_file}')
        """,
        params,
    )
    con.execute(
        f"""
        CREATE TABLE customer AS
        SELECT i AS customer_id,
               exp(1.1 * {_normal("i", "'rate'")}) AS rate,
               power({_uniform("i", "'brand'")}, 2) * 0.8 AS store_brand_affinity,
               1 + floor(400 * {_uniform("i", "'store'")})::BIGINT AS store_id,
               CASE WHEN {_uniform("i", "'join'")} < 0.8 THEN 0
                    ELSE floor({months} * {_uniform("i", "'joined'")})::INT END AS first_month,
               CASE WHEN {_uniform("i", "'leave'")} < 0.2 THEN floor({months} * {_uniform("i", "'left'")})::INT
                    ELSE {months} END AS last_month
        FROM range(1, {customers} + 1) AS t(i)
        """,
        params,
    )
    baskets_per_month = lines / (1 + MEAN_EXTRA_LINES) / months
    if sure is not None:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE customer AS
            SELECT * REPLACE (least(first_month, sure_month) AS first_month, greatest(last_month, sure_month) AS last_month)
            FROM (SELECT *, {sure}[1 + floor({len(sure)} * {_uniform("customer_id", "'sure'")})::INT] AS sure_month
                  FROM customer)
            """,
            params,
        )
        baskets_per_month = max(0.0, lines / (1 + MEAN_EXTRA_LINES) - customers) / months
    total_lines = total_baskets = 0
    with Progress(console=console or Console(quiet=True)) as progress:
        task = progress.add_task("synthetic lake", total=months)
        for m in range(months):
            month_index = first_month.month - 1 + m
            month_start = date(first_month.year + month_index // 12, month_index % 12 + 1, 1)
            folder = out / BASKET_LINES / f"month={month_start:%Y-%m}"
            folder.mkdir(parents=True, exist_ok=True)
            con.execute(_month_sql(m, month_start, int(baskets_per_month), folder / "part-0.parquet", sure is not None),
                        params)
            written = con.execute(
                f"SELECT count(*), count(DISTINCT basket_id) FROM read_parquet('{folder}/part-0.parquet')"
            ).fetchall()[0]
            total_lines += written[0]
            total_baskets += written[1]
            progress.advance(task)
    return SynthResult(out=out, customers=customers, baskets=total_baskets, lines=total_lines, months=months)


def _month_sql(m: int, month_start: date, baskets: int, target: Path, sure: bool = False) -> str:
    """The COPY statement writing one month's basket lines (with the sure baskets of the customers
    whose `sure_month` is this month, after the drawn ones, when `sure`)."""
    next_month = date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    days = (next_month - month_start).days
    popular = _uniform("l.k", "l.line_no", str(m), "'p'")  # cubed: the first products of the shelf sell most
    columns = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in BASKET_LINE_SQL_TYPES.items())
    drawn = "FROM draw d ASOF JOIN active a ON d.who >= a.weight_before"
    if sure:  # numbered after the drawn baskets: their k (so their ids and draws) are new
        drawn = f"""FROM (SELECT d.k, a.customer_id {drawn}
              UNION ALL
              SELECT {baskets} - 1 + row_number() OVER (ORDER BY customer_id) AS k, customer_id
              FROM active WHERE sure_month = {m}) d JOIN active a USING (customer_id)"""
    return f"""
    COPY (
      WITH active AS (
        SELECT *, sum(rate) OVER (ORDER BY customer_id) - rate AS weight_before, sum(rate) OVER () AS weight_total
        FROM customer WHERE {m} BETWEEN first_month AND last_month
      ),
      draw AS (
        SELECT k, {_uniform("k", str(m), "'who'")} * (SELECT max(weight_total) FROM active) AS who
        FROM range({baskets}) AS t(k)
      ),
      basket AS (
        SELECT d.k, a.customer_id, a.store_id, a.store_brand_affinity,
               1 + floor(-ln(1 - {_uniform("d.k", str(m), "'size'")}) * {MEAN_EXTRA_LINES})::INT AS size,
               DATE '{month_start}' + floor({days} * {_uniform("d.k", str(m), "'day'")})::INT AS day0
        {drawn}
      ),
      dated AS (
        -- the weekly rhythm: a third of the weekday trips move to the following Saturday
        SELECT *, CASE WHEN dayofweek(day0) BETWEEN 1 AND 4 AND {_uniform("k", str(m), "'wk'")} < 0.35
                        AND day0 + (6 - dayofweek(day0))::INT < DATE '{next_month}'
                       THEN day0 + (6 - dayofweek(day0))::INT ELSE day0 END AS day
        FROM basket
      ),
      line AS (
        SELECT b.*, unnest(range(b.size)) AS line_no FROM dated b
      ),
      priced AS (
        SELECT l.*, {_uniform("l.k", "l.line_no", str(m), "'u'")} AS u,
               CASE WHEN {_uniform("l.k", "l.line_no", str(m), "'brand'")} < l.store_brand_affinity
                    THEN s.private[1 + floor(len(s.private) * power({popular}, 3))::INT]
                    ELSE s.national[1 + floor(len(s.national) * power({popular}, 3))::INT]
               END AS product_id
        FROM line l, shelf s
      ),
      valued AS (
        SELECT *, CASE WHEN u < 0.8 THEN 1 WHEN u < 0.95 THEN 2 ELSE 3 END AS quantity,
               round(exp(0.6 + 0.7 * {_normal("product_id", "'price'")}), 2) AS price
        FROM priced
      )
      SELECT {columns}
      FROM (
        SELECT 'S{m:03d}-' || k AS basket_id, line_no + 1 AS line_no, customer_id, NULL AS card_barcode, store_id,
               day + to_seconds((8 * 3600 + floor(13 * 3600 * u))::BIGINT) AS transaction_ts, product_id, quantity,
               price * quantity AS sales_value,
               CASE WHEN {_uniform("k", "line_no", str(m), "'disc'")} < 0.33 THEN round(price * quantity * 0.2, 2)
                    ELSE 0 END AS retail_disc,
               CASE WHEN {_uniform("k", "line_no", str(m), "'coupon'")} < 0.01 THEN least(1.0, price * quantity)
                    ELSE 0 END AS coupon_disc,
               0 AS coupon_match_disc,
               CASE WHEN {_uniform("k", str(m), "'online'")} < 0.05 THEN 'online' ELSE 'store' END AS channel,
               'synthetic' AS source_file, 'synthetic' AS import_id
        FROM valued
      )
    ) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
    """
