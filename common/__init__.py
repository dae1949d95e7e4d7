"""What every castflow service shares: settings, database, tables, queues, the upload store."""
