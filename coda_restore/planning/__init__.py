"""Planning: from the catalog's records to a proven plan.

``when`` reads the operator's date; ``history`` builds a volume's dump graph
and its exact and minimal chains (DESIGN rules 2-4); ``planner`` turns a
chain into a ``plan.Plan`` (steps, tapes, the fetch order, the commands);
``coverage`` reports, for every volume, how far back it can be restored and
what the next tape overwrites; ``bulk`` plans many volumes at once and
``schedule`` orders their tapes (each mounted once) across drives within a
staging budget.  Nothing here runs a program or prints.
"""
