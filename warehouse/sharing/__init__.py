"""Delta Sharing for district mirrors: the server, its bearer tokens and its hash-chained audit log."""
