"""Customer analytics: pure functions, Ibis table in, Ibis table out, on DuckDB or Spark."""
