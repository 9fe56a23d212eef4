"""The path of a document: sources (files, URLs, feeds), fetching, converters, cleaning and ids, the indexer."""
