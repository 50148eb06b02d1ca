"""The benchmark harness behind `python -m bench`, one module per job.

- `options`: the command line; `datasets`: generated JSON Lines and their Parquet copy;
- `stores`: a fresh SQLite file or PostgreSQL database per run, and SQL checks on it;
- `processes`: a subprocess timed end to end with its peak memory;
- one module per measure: `bulk_ingest`, `http_ingest`, `billing`, `estimate`,
  `pdf_rendering`, `floor`;
- `results`, `targets`, `report`, `machine`: figures, verdicts and the written files;
- `runner`: the order in which all of it runs.
"""
