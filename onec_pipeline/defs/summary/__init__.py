"""The catalog summary: the catalog's state at a glance (asset ``catalog_summary``), refreshed after every
import run (sensor ``catalog_summary_after_imports``, job ``refresh_catalog_summary``) and by the nightly
audit (``defs/catalog/audit.py``)."""
