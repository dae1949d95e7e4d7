"""`python -m services.etl`: an RQ worker on queue `etl`."""

from common.queue import ETL_QUEUE
from common.worker import run_worker

if __name__ == "__main__":
    run_worker(ETL_QUEUE)
