"""One package per vendor (issue 15): verify, parse into the import's records, apply through
the import. The vendor's SDK is imported only inside its package."""
