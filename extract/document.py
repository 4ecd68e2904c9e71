"""The seam between readers and the template matcher.

A reader turns one file's bytes into a ``Document``: the report as an ordered list of rows,
each row a list of cell texts. Narrative paragraphs are one-cell rows; table rows keep one
cell per printed cell (spanned positions may be empty strings). The matcher only ever sees
rows, so a new layout or file format plugs in by writing a reader, never by touching it.

A reader may also mark a row's cells as *run together* (``glued``): an archived page whose
cells were joined with no separator. The matcher then splits the digits with the identities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Row = list[str]


class UnreadableDocument(Exception):
    """The bytes cannot be read as a report at all; the message is the user-facing reason."""


@dataclass
class Document:
    rows: list[Row]
    format: str  # e.g. "text/cells", "text/pipes", "text/tabs", "html", "pdf"
    text: str = ""  # plain text for metadata (title, first paragraph)
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    # True when value cells may hold several numbers run together (archived pages): the
    # matcher then hands the value text of each row to ``extract.glued`` to split with the
    # identities instead of reading one number per cell.
    glued: bool = False

    def lines(self) -> list[str]:
        return [" ".join(c for c in row if c) for row in self.rows]
