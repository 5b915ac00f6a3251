"""Contact rules as data: the policy packs and their loader (see README.md)."""
