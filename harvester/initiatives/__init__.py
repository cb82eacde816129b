"""Initiatives: which networks, programmes and events posts talk about, and how they connect.

catalogue (the configured list), matching (posts -> initiatives and candidate terms, pure),
network (counts, the graph, its layout and files, pure) and step (the one place that knows both
these and the store).
"""
