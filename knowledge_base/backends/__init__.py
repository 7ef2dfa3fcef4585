"""Search backends behind one interface (see base.SearchBackend)."""
