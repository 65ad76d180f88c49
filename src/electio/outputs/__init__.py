"""Client deliverables: exports of the star schema (CSV, Parquet, SQL dump, data dictionary,
Power BI starter) and the conceptual data model (MCD) generated from the warehouse DDL."""
