"""The operator's legal pages, linked from every page's footer: what a French public website must show."""
