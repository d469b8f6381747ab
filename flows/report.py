"""The outcome of one sync: a result per listed document, what was pruned, what the source got
wrong, and how much work was actually done. Rendered as Markdown for Prefect's artifact page.

A run whose report is not ``ok`` (a document failed, an entry of the source was unusable) ends
Failed in Prefect, carrying ``DocumentsFailed`` with the whole report: the same verdict as the
CLI's exit code 1.

This model lives beside the flows rather than in ``pipeline/models.py`` because only orchestration
produces or reads it; it is built from the core's ``IngestResult``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.models import IngestResult

Work = Literal["none", "cached", "converted"]


class SyncProblem(BaseModel):
    """An entry of the source that could not be listed (bad manifest line, refused URL)."""

    where: str
    reason: str


class SyncReport(BaseModel):
    """What one run of the ingest flow did to one source."""

    source: str
    kind: str
    db: str
    collection: str
    started_at: dt.datetime
    seconds: float = 0.0
    results: list[IngestResult] = Field(default_factory=list)
    problems: list[SyncProblem] = Field(default_factory=list)
    pruned: list[str] = Field(default_factory=list)
    stale: list[str] = Field(default_factory=list)
    prune_note: str | None = None
    converted: int = Field(default=0, description="documents converted and embedded this run")
    cached: int = Field(default=0, description="documents whose stage output came from cache")
    flow_run_id: str | None = Field(default=None, description="the Prefect flow run")

    @property
    def counts(self) -> dict[str, int]:
        """How many results of each action (added, replaced, unchanged, duplicate, failed)."""
        return dict(Counter(r.action for r in self.results))

    @property
    def failed(self) -> list[IngestResult]:
        """Documents not searchable: failed now, or failed before and unchanged since."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def pages(self) -> int:
        """Pages of the documents converted or replaced in this run."""
        return sum(r.pages for r in self.results if r.action in ("added", "replaced"))

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems

    def summary_line(self) -> str:
        """One line for logs and terminals."""
        parts = [f"{len(self.results)} documents"]
        parts += [f"{n} {action}" for action, n in sorted(self.counts.items())]
        if self.pruned:
            parts.append(f"{len(self.pruned)} pruned")
        if self.stale:
            parts.append(f"{len(self.stale)} gone from the source (kept; use --prune)")
        if self.problems:
            parts.append(f"{len(self.problems)} unusable entries")
        parts.append(f"{self.converted} converted, {self.cached} from cache")
        return ", ".join(parts) + f" in {self.seconds:.1f}s"

    def failure_line(self) -> str:
        """Why the run is not ``ok``, in one line (the failed run's state message)."""
        parts = []
        if self.failed:
            first = self.failed[0]
            parts.append(
                f"{len(self.failed)} of {len(self.results)} documents failed "
                f"(first: {first.uri}: {first.reason})"
            )
        if self.problems:
            parts.append(f"{len(self.problems)} unusable source entries")
        return "; ".join(parts) or "ok"

    def to_markdown(self) -> str:
        """The report as Markdown: totals, then every failure and removal with its reason."""
        lines = [
            f"# Ingest of `{self.source}`",
            "",
            f"Index `{self.db}`, collection `{self.collection}`, connector `{self.kind}`, "
            f"started {self.started_at:%Y-%m-%d %H:%M:%S} UTC, {self.seconds:.1f}s.",
            "",
            "| outcome | documents |",
            "|---|---|",
        ]
        lines += [f"| {action} | {n} |" for action, n in sorted(self.counts.items())]
        lines += [
            f"| pruned | {len(self.pruned)} |",
            f"| converted + embedded | {self.converted} |",
            f"| stage output from cache | {self.cached} |",
            f"| pages converted | {self.pages} |",
        ]
        lines += _section("Failed", [f"`{r.uri}`: {_md(r.reason)}" for r in self.failed])
        lines += _section(
            "Partial (searchable, some pages missing)",
            [
                f"`{r.uri}`: {_md(r.reason)}"
                for r in self.results
                if r.status == "partial" and r.action != "failed"
            ],
        )
        lines += _section(
            "Unusable source entries", [f"{p.where}: {_md(p.reason)}" for p in self.problems]
        )
        lines += _section("Pruned from the index", [f"`{u}`" for u in self.pruned])
        lines += _section(
            "Gone from the source, still in the index", [f"`{u}`" for u in self.stale]
        )
        if self.prune_note:
            lines += ["", f"**Prune skipped:** {self.prune_note}"]
        return "\n".join(lines) + "\n"


def _section(title: str, items: list[str], limit: int = 200) -> list[str]:
    if not items:
        return []
    out = ["", f"## {title} ({len(items)})", ""]
    out += [f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        out.append(f"- … and {len(items) - limit} more")
    return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class DocumentsFailed(Exception):
    """A sync whose documents did not all go in: what an ingest flow run that ends Failed
    raises to a Python caller, with the whole report (``flows.ingest.run_ingest`` returns it)."""

    def __init__(self, report: SyncReport) -> None:
        super().__init__(report)
        self.report = report

    def __str__(self) -> str:
        return self.report.failure_line()
