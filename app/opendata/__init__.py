"""Open data: Decidim imports (and, later, exports in Decidim's layout)."""
