"""Pure extraction: report bytes in, the template tables out. No Dagster import here."""

from extract.api import PARSER_VERSION, extract_bytes, extract_path
from extract.report import OK, REJECTED, WARNING, Report

__all__ = ["OK", "PARSER_VERSION", "REJECTED", "WARNING", "Report", "extract_bytes", "extract_path"]
