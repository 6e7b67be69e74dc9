"""Projects' data migrations, ``NNNN_name.py``, applied in order by ``keel migrate`` and by every deploy
before traffic shifts (``keel.migrations``)."""
