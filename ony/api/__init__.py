"""Shared pieces of the JSON API: authentication, the error format, the team views."""
