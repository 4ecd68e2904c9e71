"""The DuckDB warehouse: inventory of raw files, fact frames, schema, views and loads.

Plain functions on paths, frames and connections; Dagster assets call them.
"""
