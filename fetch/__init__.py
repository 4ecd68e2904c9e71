"""Fetching reports from agency websites into the raw folder: politely and incrementally.

``sources`` reads data/sources.csv, ``client`` is the polite HTTP client, ``content`` decides
what a body is, ``attachments`` finds the report a page links to, ``store`` writes files and
manifest rows, ``run`` is the incremental run. No Dagster here (assets/fetch.py is the edge).
"""
