"""CRM analytics: funnel, forecast, rep KPIs, ABC/XYZ, BCG matrix and the home dashboard's figures.

Modules (each small, read-only, no writes except the default pipeline made on first use):

* ``params``: the report query (from, to, pipeline, currency, thresholds) parsed once for API and pages; bad
  input is a 400 problem naming every bad field.
* ``scope``: THE visibility rule of reports and the company's calendar (time zone, month buckets).
* ``funnel``, ``forecast``, ``reps`` (+ ``activities``), ``revenue`` (the one revenue source), ``abc_xyz``,
  ``bcg``, ``dashboard`` (pipeline by stage, recent activity), ``people`` (names instead of ids), ``indexes``
  (what the report queries need, revision t0010).

Visibility (stated once in ``scope``, tested per role): a report covers exactly what the caller may see.
Owner, admin, manager (and the read-all roles accountant, support, viewer) see every deal and account; a rep's
reports cover the deals a rep sees in the deals list (own, unowned, and deals on shared accounts) and the
accounts a rep sees (own, unowned, shared). Per-rep rows (KPIs, activities) show a rep only their own row.

Money is Decimal throughout and never summed across currencies.
"""
