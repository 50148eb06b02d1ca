"""The columnar billing path: a whole period billed by organisation shards.

ARCHITECTURE: "the batch path is columnar where volume needs it, and the small readable
core stays the reference semantics". Instance uptime, nearly all of a platform's events,
is metered and rated here in DuckDB over Arrow columns; everything else (add-ons, tasks,
metered quantities, credits, VAT, the document) goes through the same core functions as
the reference path. Organisations whose usage the columns do not cover exactly (R4
anomalies, prices missing, promotional credit expiring inside the period, late usage of a
finalised period) are billed by the reference path, inside the same shard.
"""
