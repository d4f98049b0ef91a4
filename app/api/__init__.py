"""Read-only JSON API: calls the same services as the pages and owns no rule."""
