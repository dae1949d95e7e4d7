"""Product-level forecasts: each product of a category forecast, backtested, recommended and reconciled with
the category (series, methods, backtest, reconcile: pure functions over one long frame; jobs: the RQ side)."""
