"""``make bench``: the figures DESIGN §10 budgets, measured in one run. Benchmarks report; they do not assert."""
