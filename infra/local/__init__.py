"""The local runtime: Keel on one machine, no AWS account, no Docker (``make dev`` / ``keel dev``).

``runtime.LocalRuntime`` renders ``infra.topology`` onto moto's ``ThreadedMotoServer`` and runs
the real handlers in-process behind a local API Gateway, SQS and stream pollers and a scheduler.
Nothing here is deployed; see ``README.md`` beside this file for what is emulated and how.
"""
