"""The gate's policy, pure: facts in, a verdict that says why out; `/gate` commands parsed and
authorised; the repository's `.github/reviewgate.yml` read. No I/O, no clock.
"""
