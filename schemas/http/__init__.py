"""HTTP request and response bodies."""
