"""For resource servers: validate keyledger's access tokens locally and honour revocations.

Depends on nothing of keyledger's but `schemas/` (an import-linter contract), so a service
can install the `keyledger` code with only msgspec, nats-py, cryptography and httpx (and
Litestar for `infra.resource_server.litestar`); see README.md, "Resource servers".
"""
