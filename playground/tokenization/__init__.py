"""Tokens: the catalogue, loaders and backends, the Tokens tab (highlight) and the Compare tab (compare)."""
