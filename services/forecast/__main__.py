"""`python -m services.forecast`: an RQ worker on queue `forecast` (run as many as there are cores)."""

import os

# One BLAS thread per worker process: parallelism comes from running more workers, and several
# multi-threaded numpy processes on the same cores only fight over them.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from common.queue import FORECAST_QUEUE  # noqa: E402
from common.worker import run_worker  # noqa: E402
from services.forecast.models import preload  # noqa: E402

if __name__ == "__main__":
    preload()
    run_worker(FORECAST_QUEUE)
