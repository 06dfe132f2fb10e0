from scanner.store.db import Store, StoreError, as_utc, shanghai_iso, utcnow

__all__ = ["Store", "StoreError", "as_utc", "shanghai_iso", "utcnow"]
