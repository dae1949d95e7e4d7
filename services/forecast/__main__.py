"""`python -m services.forecast`: an RQ worker on queue `forecast` (run as many as there are cores)."""

from common.queue import FORECAST_QUEUE
from common.worker import run_worker

if __name__ == "__main__":
    run_worker(FORECAST_QUEUE)
