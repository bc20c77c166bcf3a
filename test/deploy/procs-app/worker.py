"""The app-runtime tests' worker: a line every second, for fcm logs."""
import time

n = 0
while True:
    n += 1
    print(f"worker tick {n}", flush=True)
    time.sleep(1)
