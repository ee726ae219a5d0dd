"""Notes: Markdown, LaTeX and notebooks read as rules (spans, declarations, chains, reader)."""
