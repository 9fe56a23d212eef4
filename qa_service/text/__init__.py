"""Text analysis shared by both paths: terms and sentence spans, spaCy, typed phrases, language, chunks."""
