"""One smoke module per context, ``<context>.py``, with ``steps(session) -> list[Step]``: the context's main
path, walked as a client would against a running stage (``keel smoke``). A context without
one is checked by what the topology says about it (``infra.smoke.derived_steps``)."""
