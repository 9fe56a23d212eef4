"""qa-service: question answering over news articles with exact, verifiable citations."""

__version__ = "0.1.0"
