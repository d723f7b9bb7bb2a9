"""`make bench`: the grader's speed and cost figures, each measured side by side.

Every figure is a ratio or a count taken in the same run, so a noisy machine
moves both sides alike: runs are interleaved and medians of a few repetitions
are reported. `python -m benchmarks --quick` runs tiny sizes (for the smoke test).
"""
