"""Data layer: no Streamlit here. Connection, schema, importer, Filters, queries, metric registry."""
