"""Publication dates in the forms news prints them, as ISO `YYYY-MM-DD` (the date as the outlet printed it).

dateparser (which htmldate, trafilatura's date extractor, already brings) reads "Sept. 14, 2025", "14 September
2025" and zoned ISO times; htmldate alone dated "Published: Sept. 14, 2025" 2025-01-01. A day, a month and a year
are all required: "Sunday" or "September 2025" is no date.
"""

from __future__ import annotations

import datetime
import re

# "Published: ...", "Updated on ...", "Posted ...", "Date: ...": the label goes, the date stays.
_LABEL = re.compile(
    r"^(?:(?:first\s+|originally\s+|last\s+)?(?:published|updated|posted|dated|date)(?:\s+(?:on|at))?)\s*[:\-–—|]?\s*",
    re.IGNORECASE,
)
_MAX_DATE_CHARS = 60  # "Monday, September 15, 2025, 3:45 PM EDT" fits; a sentence does not
_SETTINGS = {
    "REQUIRE_PARTS": ["day", "month", "year"],
    "STRICT_PARSING": True,
    "RETURN_AS_TIMEZONE_AWARE": False,  # the local date of the zone written, not converted to ours
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],  # no "2 days ago"
}


def parse_date(value: str) -> str | None:
    """`value` (a whole date, optionally after a "Published:" label) as YYYY-MM-DD, or None."""
    value = _LABEL.sub("", value.strip(), count=1).strip().rstrip(".")
    if not value or len(value) > _MAX_DATE_CHARS or not any(c.isdigit() for c in value):
        return None
    try:
        return datetime.datetime.fromisoformat(value).date().isoformat()  # "2025-09-20", "...T23:30:00-05:00"
    except ValueError:
        pass
    import dateparser  # 0.05 s to import; its first parse loads the English data (~0.1 s)

    parsed = dateparser.parse(value, languages=["en"], settings=_SETTINGS)
    return parsed.date().isoformat() if parsed is not None else None
