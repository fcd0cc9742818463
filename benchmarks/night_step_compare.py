"""The forecasts table and purchase history of two driver runs (night_step_driver.py): rows in one and not the other."""
import duckdb, sys
x, y = sys.argv[1], sys.argv[2]
for t in ('forecasts', 'customer_history'):
    a = f"read_parquet('{x}/{t}/*.parquet')"; b = f"read_parquet('{y}/{t}/*.parquet')"
    print(t, duckdb.sql(f'select count(*) from {a}').fetchall(), 'differ', duckdb.sql(f'select (select count(*) from (from {a} except all from {b})) + (select count(*) from (from {b} except all from {a}))').fetchall())
