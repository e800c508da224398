"""``nsgw.v1.Connections``: NSI connections for orchestrators, at any provider."""
