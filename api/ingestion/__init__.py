"""Ingestion wiring: read sources with the ingest readers, resolve references, write the graph."""
