"""The two bases of every context's API models (``handlers/views.py``): ``Body`` for what a request
sends, ``View`` for what a response answers. One definition, so every context reads its bodies and
shapes its answers by the same rules (and ``keel new context`` starts from them).

Only pydantic is imported here, which every ``views.py`` imports anyway: a handler's cold start pays
nothing more for it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """A request body. Its config, option by option:

    - ``extra="forbid"``: a field the model does not name is a 422, not silently dropped, so a tenant
      id, role or plan slipped into a body is refused (the tenant comes from the authorizer context
      only) and a misspelt field is reported; the OpenAPI schema says so (``additionalProperties:
      false``).
    - ``str_strip_whitespace=True``: surrounding spaces are no part of a value (``" Acme "`` is
      ``"Acme"``), and length limits count what is kept, so ``"   "`` is refused as empty.
    - ``defer_build=True``: a model's validator is built on its first use, not when ``views.py`` is
      imported, so a cold start builds none of them and a request only the ones it uses.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class View(BaseModel):
    """A response, built by our own code from the domain's objects (the ``of`` classmethods).

    - ``defer_build=True``: as for ``Body``, built on first use, not at import (cold start).

    Nothing else: a view's values come from our code, not a caller, so there is no input to refuse
    or trim, and it answers what is stored as it is.
    """

    model_config = ConfigDict(defer_build=True)
