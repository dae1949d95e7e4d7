"""The ETL worker: stored uploads in, validated and merged observations out."""
