"""castflow's services: the HTTP API, the ETL worker and the forecast worker."""
