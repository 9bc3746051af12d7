"""Talking to upstream OAuth 2.0 / OpenID Connect providers: discovery, tokens, checks."""
