"""Open data: each consultation's files (proposals in Decidim's layout) and their page, Decidim imports, Pabulib."""
