"""``make bench``: the figures the README's "Budgets" section names, measured in one run.

Benchmarks report; they do not assert."""
