"""Single sign-on: a workspace's own OpenID Connect provider, and signing in through it."""
