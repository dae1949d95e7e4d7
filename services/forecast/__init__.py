"""The forecast worker: a category's daily history in, backtested forecasts of every model out."""
