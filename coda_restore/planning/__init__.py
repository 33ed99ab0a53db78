"""Planning: from the catalog's records to a proven plan.

``when`` reads the operator's date; ``history`` builds a volume's dump graph
and its exact and minimal chains (DESIGN rules 2-4); ``planner`` turns a
chain into a ``plan.Plan`` (steps, tapes, the fetch order, the commands);
``coverage`` reports, for every volume, how far back it can be restored and
what the next tape overwrites.  Nothing here runs a program or prints.
"""
