"""Data in: reading files, the table schema, validation, pseudonymisation, periods, synthetic packages."""
