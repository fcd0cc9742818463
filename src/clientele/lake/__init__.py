"""The transaction lake: every basket line ever seen, in Parquet, partitioned by month.

Nothing here imports Django: the lake is read by DuckDB in-process and by Spark on a cluster.
"""
