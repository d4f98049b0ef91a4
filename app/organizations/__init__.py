"""Organizations (collectivities and others) and the memberships that tie people to them."""
