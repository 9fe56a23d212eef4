"""Domain errors; the API maps each to an HTTP status at its edge, the CLI to a message and exit code."""


class QAServiceError(Exception):
    """Base class: the message is meant for the user, not a traceback."""


class DocumentNotFoundError(QAServiceError):
    pass


class DocumentExistsError(QAServiceError):
    pass


class InvalidDocumentError(QAServiceError):
    pass


class IndexMismatchError(QAServiceError):
    """The index on disk was built with another model or other settings."""


class IndexCorruptError(QAServiceError):
    """A file of the index on disk is missing, truncated or unreadable."""


class FetchRefusedError(QAServiceError):
    """A URL that is not fetched: not http(s), or an address inside the private network (SSRF guard)."""


class FetchFailedError(QAServiceError):
    """A page or feed that could not be fetched: unreachable, an error status, not HTML, too large."""


class DocumentTooCostlyError(InvalidDocumentError):
    """Indexing the document would cost more CPU than QA_DOCUMENT_CPU_S allows (see budget.py)."""


class DocumentTooLargeError(DocumentTooCostlyError):
    """The cleaned text is longer than QA_MAX_DOCUMENT_CHARS: refused before any model work (413 like its base)."""


class StorageFullError(QAServiceError):
    """The disk refused a write (full, over a size limit, failing); the write was rolled back (see storage.py)."""
