"""The limits on input: each bound that keeps hostile or pathological input from crashing,
hanging or exhausting memory, in one place. Every limit has a clear message where it is
enforced; README's "Limits" section lists them."""

from __future__ import annotations

# A rule file (YAML) larger than this is refused before it is read. ruamel reads about 100 KB
# of rules a second (and twice when a file is recovered rule by rule), using ~150 MB per MiB:
# 1 MiB is some 9,000 rules, read in about 10 s; the bundled files are under 10 KB each.
MAX_FILE_BYTES = 1024 * 1024
# Nesting of YAML collections, aliases expanded (a rule file needs five levels: the file,
# `rules`, a rule, `assume`, a list of assumptions).
MAX_YAML_DEPTH = 32
# Rules of one file reported unreadable when it is read rule by rule (each costs a parse of
# its own); past it the rest of that file is not read.
MAX_UNREADABLE_RULES = 100
# Nodes reachable through YAML aliases (`*a`), counted with repetition: bounds "billion laughs".
MAX_YAML_ALIAS_NODES = 10_000
# Characters of one expression (a claim, an `f` or a right-hand side).
MAX_EXPRESSION_CHARS = 5_000
# Nesting of one expression: parentheses, functions, postfix ᵀ/⁻¹ and unary signs together.
MAX_EXPRESSION_DEPTH = 100
# Operators and operands of one expression (the AST's nodes).
MAX_EXPRESSION_NODES = 1_000
# Digits of one number literal, and the magnitude of its decimal exponent.
MAX_LITERAL_DIGITS = 50
MAX_LITERAL_EXPONENT = 300
# A dimension written as a number (vector(3), matrix(2, 16)): a 16×16 matrix is 256 drawn
# entries, about what one hypothesis example can hold; the checks pick small sizes for a
# dimension given by name.
MAX_DIMENSION = 16
# An integer power (matpow(A, k), A^k, x^k).
MAX_POWER = 64
# Members of one chain a = b = c (each further member is a rule checked on its own).
MAX_CHAIN_MEMBERS = 16
