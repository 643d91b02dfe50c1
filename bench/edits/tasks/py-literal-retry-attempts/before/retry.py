"""Retry a flaky operation a few times before giving up."""

import time


class RetryPolicy:
    def __init__(self, max_attempts=3, delay=0.0):
        self.max_attempts = max_attempts
        self.delay = delay

    def run(self, operation):
        last_error = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return operation(attempt)
            except OSError as e:
                last_error = e
                if self.delay:
                    time.sleep(self.delay)
        raise RuntimeError(f"gave up after {self.max_attempts} attempts") from last_error
