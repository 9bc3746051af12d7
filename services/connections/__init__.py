"""Connected third-party accounts: providers, the authorization flow, the token vault, and
the scheduler that keeps upstream tokens fresh."""
