"""The fault matrix: every API step of a run x every fault kind (see scenario.py and __main__.py)."""
