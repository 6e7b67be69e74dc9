"""Keel's shared kernel, shipped to every function as a Lambda layer.

Nothing here reads the environment or opens a connection at import time, and nothing here
imports from ``functions``.
"""
