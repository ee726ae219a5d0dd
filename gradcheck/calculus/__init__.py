"""Matrix calculus over the AST: differentials, a canonical form, derivatives read off."""
