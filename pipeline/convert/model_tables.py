"""Tables where the layout model sees one: its region says where, its grid says how to cut.

The rules find ruled grids and runs of aligned text; a table without rules whose rows hold
wrapped labels, dot leaders or sparse columns escapes them, and is then read as a column of
loose numbers. The layout model marks such a region ``table`` and predicts its row and column
separators. Here the rules get the first word (the region's lines through the aligned-text
finder), and the model's grid cuts the words into cells where the rules see no table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.convert.layout_model import Region
from pipeline.convert.pdf_grid import find_text_tables, grid_table
from pipeline.convert.pdf_lines import TextLine
from pipeline.convert.pdf_tables import TableBlock


def _centre_in(box: Sequence[float], region: Region) -> bool:
    return region.holds((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _overlaps(region: Region, table: TableBlock) -> bool:
    ix = min(region.x1, table.x1) - max(region.x0, table.x0)
    iy = min(region.y1, table.y1) - max(region.y0, table.y0)
    area = (table.x1 - table.x0) * (table.y1 - table.y0)
    return ix > 0 and iy > 0 and ix * iy > 0.3 * min(region.area, area)


ColumnCutter = Callable[[Region], list[float]]  # a table region → its column separators (x)


def model_tables(
    regions: Sequence[Region],
    lines: Sequence[TextLine],
    existing: Sequence[TableBlock],
    cut: ColumnCutter,
) -> list[TableBlock]:
    """Tables for the model's table regions that no ruled table covers.

    The aligned-text finder runs first on the region's lines; where it finds the table (its
    tables hold most of the region's lines) its structure wins. Otherwise the region's lines
    are cut into columns where ``cut`` (the layout model's table grid) puts the separators.
    """
    found: list[TableBlock] = []
    for region in regions:
        if region.kind != "table" or any(_overlaps(region, t) for t in existing):
            continue
        members = [ln for ln in lines if _centre_in((ln.x0, ln.y0, ln.x1, ln.y1), region)]
        if len(members) < 2:
            continue
        by_rules = find_text_tables(members)
        taken = sum(len(m) for _, m in by_rules)
        if by_rules and taken >= 0.8 * len(members):
            found += [table for table, _ in by_rules]
            continue
        columns = cut(region)
        table = grid_table(members, columns) if columns else None
        if table is not None:
            table.role = "table"
            found.append(table)
    return found
