"""Typed records that flow through the pipeline and out of the API (one definition for both)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, computed_field, model_validator


class Document(BaseModel):
    """A cleaned article; every citation offset refers to `text`."""

    doc_id: str
    text: str
    title: str | None = None
    date: str | None = None
    source: str | None = Field(default=None, description="The outlet (site name) that published it.")
    url: str | None = Field(default=None, description="Where it was published (the page's canonical URL).")
    author: str | None = None
    content_hash: str = ""
    label: str = Field(default="", description="A readable name, stored at ingest (see `DocumentSummary.label`).")


def _calendar_day(value: str) -> str:
    try:
        datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a calendar date ({exc})") from None
    return value


Day = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"}), AfterValidator(_calendar_day)
]
MAX_FILTER_ITEMS = 1000
SourceName = Annotated[str, Field(min_length=1, max_length=200)]


def outlet_key(name: str) -> str:
    """An outlet as a filter compares it: case and spaces ignored ("daily ledger" picks "Daily Ledger"), because
    people type outlets as they remember them, not as the page's metadata spelled them."""
    return "".join(name.casefold().split())


FilterDocId = Annotated[str, Field(min_length=1, max_length=128)]


class Filters(BaseModel):
    """Which articles a question, a search or a listing may draw on. Applied inside the store (SQL and a FAISS id
    selector; a Milvus filter expression), so `top_k` passages come back whenever that many match. Undated
    articles are left out by a date bound; every condition given must hold."""

    model_config = {"extra": "forbid"}

    date_from: Day | None = Field(default=None, description="Published on or after this day (YYYY-MM-DD).")
    date_to: Day | None = Field(default=None, description="Published on or before this day (YYYY-MM-DD).")
    sources: list[SourceName] | None = Field(
        default=None,
        max_length=MAX_FILTER_ITEMS,
        description="Only these outlets (as `GET /sources` names them); empty: any.",
    )
    doc_ids: list[FilterDocId] | None = Field(
        default=None, max_length=MAX_FILTER_ITEMS, description="Only these articles; empty: any."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        self.sources = self.sources or None  # an empty picker is no restriction
        self.doc_ids = self.doc_ids or None
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self

    @property
    def active(self) -> bool:
        """Whether anything is filtered (no filter and empty filters mean every article)."""
        return any(v is not None for v in (self.date_from, self.date_to, self.sources, self.doc_ids))

    def describe(self) -> str:
        """The filter in words ("outlet Daily Ledger, from 2005-01-01"), for saying that it removed every match."""
        parts = [f"outlet {' or '.join(self.sources)}"] if self.sources else []
        parts += [f"{word} {day}" for word, day in (("from", self.date_from), ("to", self.date_to)) if day]
        if self.doc_ids:
            parts.append(f"{len(self.doc_ids)} chosen article{'s' if len(self.doc_ids) > 1 else ''}")
        return ", ".join(parts)

    def removed_every_match(self, outside: int) -> str:
        """The abstention's reason when passages outside the filter match and none inside it does."""
        passages = f"{outside} passages outside it match" if outside > 1 else "1 passage outside it matches"
        return f"Nothing within the filter ({self.describe()}); {passages}."


class SourceCount(BaseModel):
    source: str | None = Field(description="The outlet; null for articles whose outlet is not known.")
    documents: int


class Chunk(BaseModel):
    """A retrievable span of a document: `document.text[start:end] == text`."""

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str


class Passage(BaseModel):
    doc_id: str
    title: str | None = Field(default=None, description="The article's title, date and outlet: where it is from.")
    date: str | None = None
    source: str | None = None
    chunk_id: int
    start: int
    end: int
    text: str
    score: float = Field(description="Fused retrieval score, 0..1 (1 = first in both the dense and keyword ranking).")
    similarity: float = Field(default=0.0, description="Cosine similarity of the question and this passage.")
    mentions: list[str] = Field(
        default_factory=list,
        description="The question's content words this passage contains, as the question spells them; a name of the "
        'question whole when the passage holds all its words ("Dorothy Shea", not "Dorothy" and "Shea").',
    )
    related: bool = Field(
        default=False,
        description="Related enough to offer when the service abstains: it mentions a question word and its "
        "similarity is at least QA_RELATED_MIN_SIMILARITY.",
    )


LABEL_DESCRIPTION = "A readable name: the title, or the article's opening words when it has none."


def _has_title(title: str | None) -> bool:
    return bool(title and title.strip())


class _Labelled(BaseModel):
    """`label` is filled from the title when a caller gives none (`ingest.clean.document_label` derives a
    better one)."""

    if TYPE_CHECKING:  # every subclass declares both, each with its own description
        title: str | None
        label: str

    @model_validator(mode="after")
    def _default_label(self) -> _Labelled:
        if not getattr(self, "label", ""):
            self.label = (self.title or "").strip() or "Untitled article"
        return self

    @computed_field(description="Whether `label` is the article's title (false: derived from its text).")  # type: ignore[prop-decorator]
    @property
    def label_is_title(self) -> bool:
        return _has_title(self.title)


class Citation(_Labelled):
    id: int
    doc_id: str
    title: str | None
    label: str = Field(default="", description=LABEL_DESCRIPTION)
    date: str | None
    source: str | None
    start: int
    end: int
    quote: str
    score: float


class AnswerSpan(BaseModel):
    """The few words that answer the question, in document offsets: inside the answer itself, or, when the
    answer only describes it ("the 1960 treaty"), in the sentence of the same article that names it."""

    start: int
    end: int
    text: str
    citation: int = Field(default=1, description="The citation whose quote holds these words (1: the answer).")


class Source(BaseModel):
    """Another article on the answer's fact: it states the same value, or a different one; both are quoted exactly."""

    relation: Literal["agrees", "differs"]
    value: str = Field(description="The value as this article states it (a substring of `citation.quote`).")
    answer_value: str = Field(description="The value as the answer states it, for a difference.")
    citation: Citation


class ExplainedCandidate(BaseModel):
    """One sentence the answerer weighed, with every signal it used (`"explain": true`)."""

    doc_id: str
    start: int
    end: int
    sentence: str
    score: float = Field(description="First-pass score: meaning, shared words, retrieval and answer type combined.")
    features: dict[str, float] = Field(description="The first pass's signals: dense, overlap, context, chunk, typed.")
    phrase: str | None = Field(default=None, description="The typed phrase that fits the asked-for kind, if any.")
    reader: float | None = Field(default=None, description="The reader's probability that the sentence answers.")
    reader_answer: str | None = Field(default=None, description="The short answer the reader found in it.")
    combined: float | None = Field(default=None, description="The score the reader's choice was made on.")
    chosen: bool = False


class Explanation(BaseModel):
    """Why this answer (or this abstention): the answerer, the rule that decided, the candidates it weighed."""

    answerer: str
    decision: str
    short_answer: str | None = Field(default=None, description="Which rule chose the words in bold (none: no bold).")
    candidates: list[ExplainedCandidate]


class Answer(BaseModel):
    question: str
    answer: str | None
    answerable: bool
    confidence: float = Field(ge=0.0, le=1.0)
    answer_span: AnswerSpan | None = None
    citations: list[Citation]
    sources: list[Source] = Field(
        default_factory=list,
        description="Other articles that state the answer's value (agrees) or another value for it (differs).",
    )
    not_found: list[str] = Field(
        default_factory=list,
        description="Names the question mentions that occur nowhere in the articles (the reason to abstain).",
    )
    question_language: str | None = Field(
        default=None,
        description="The question's language (ISO 639 code, e.g. 'fr') when it is clearly not English: only English "
        "is understood, so such a question is usually abstained on.",
    )
    reason: str | None = Field(
        default=None,
        description='Why the service abstained, when it can say what the articles lack ("The articles name no judge.")',
    )
    outside_filter: int = Field(
        default=0,
        description="When a filter removed every match: how many passages outside it match (the reason says so; "
        "ask again without the filter to see them); 0 otherwise.",
    )
    passages: list[Passage]
    timings_ms: dict[str, float]
    explanation: Explanation | None = Field(
        default=None, description='With "explain": true, the candidates weighed and the rule that decided.'
    )


class SearchResult(BaseModel):
    query: str
    passages: list[Passage]


class DocumentSummary(_Labelled):
    doc_id: str
    title: str | None
    label: str = Field(default="", description=LABEL_DESCRIPTION)
    date: str | None
    source: str | None
    chunks: int


class IngestReport(BaseModel):
    """What an ingest did, so a user sees exactly which files went in and which did not."""

    added: list[str] = Field(default_factory=list)
    replaced: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)  # id taken by other text and replacing was not asked for
    duplicates: dict[str, str] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)  # file (or id) -> why it was not added
    notes: dict[str, str] = Field(default_factory=dict)  # file -> what to know (a link followed out of the folder)
    counts: dict[str, int] = Field(default_factory=dict)  # added / replaced / unchanged, also when ids are not kept
    keep_ids: bool = Field(default=True, exclude=True)  # bulk ingest keeps counts only, so memory stays flat

    def record(self, kind: str, doc_id: str) -> None:
        """Count an added / replaced / unchanged document (and list its id unless this is a bulk run)."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.keep_ids:
            getattr(self, kind).append(doc_id)
