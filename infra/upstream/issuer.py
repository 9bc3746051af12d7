"""The `iss` of an authorization response (RFC 9207 2.4): a defence against mix-up.

https://www.rfc-editor.org/rfc/rfc9207#section-2.4  A response naming another issuer than
the one the request went to is refused; so is one without `iss` from a provider that
promised to send it (`authorization_response_iss_parameter_supported`).
"""

from __future__ import annotations

import hmac

__all__ = ["issuer_problem"]


def issuer_problem(expected: str | None, iss: str | None, *, promised: bool) -> str | None:
    """Why the response's `iss` is not acceptable, or None."""
    if iss is None:
        return "the provider promised an iss parameter and sent none" if promised else None
    if expected is None or not hmac.compare_digest(iss.encode(), expected.encode()):
        return "the response's iss is not the provider's issuer"
    return None
