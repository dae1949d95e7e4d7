"""Webhooks: what castflow announces (events.py), recording and queueing it (notify.py), sending it (deliver.py).

The ETL and forecast jobs each carry one decorator from notify.py; the deliveries run on the `webhooks` queue,
which the ETL and forecast workers listen to before their own.
"""
