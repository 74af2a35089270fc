"""tools: the gbhan command line."""
