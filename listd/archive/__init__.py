"""The list archive: the store, its search, its access rule, mbox import and export."""
