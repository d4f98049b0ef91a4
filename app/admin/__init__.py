"""Back office: a door into the same services the public pages use; it owns no rule."""
