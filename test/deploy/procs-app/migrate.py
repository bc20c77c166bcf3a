"""The app-runtime tests' release command: one line per run, kept across
releases (/app is the VM disk)."""
import os

with open("/app/migrations.log", "a") as f:
    f.write(f"migrated in {os.getcwd()}\n")
print("migrations applied", flush=True)
