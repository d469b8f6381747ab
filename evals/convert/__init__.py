"""Conversion evals: olmOCR-Bench-format unit tests and edit distance to full-page labels."""

from evals.convert.checks import BenchTest, CheckResult, check, load_tests
from evals.convert.runner import (
    ConverterResult,
    ConvertEval,
    archivist_converter,
    edit_distance,
    pymupdf4llm_converter,
    score_tests,
)

__all__ = [
    "BenchTest",
    "CheckResult",
    "ConvertEval",
    "ConverterResult",
    "archivist_converter",
    "check",
    "edit_distance",
    "load_tests",
    "pymupdf4llm_converter",
    "score_tests",
]
