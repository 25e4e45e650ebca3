"""ringplan's benchmark suite: an instance generator, a runner and baseline planners.

Run apart from the tests: ``ringplan generate`` writes instances, ``ringplan bench`` solves them
with ringplan and the baselines and writes tables and plots (see ``benchmarks/README.md``).
"""
