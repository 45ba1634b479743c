"""The work the queue runs: evaluations, `/gate` commands and their acknowledgements, merge
groups, and the reconciler's periodic pass. `queue.py` builds the queue and registers them.
"""
