"""Handlers the local runtime's tests run: the kernel's "things" context plus small probes that
record exactly what the runtime handed them."""
