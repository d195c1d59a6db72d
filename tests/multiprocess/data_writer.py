"""One writer process of the data race: its own storage (built after it starts, as a
deployment's worker does), threads each writing their own key of one shared session.

Run in a child started with the ``spawn`` method: importable, and nothing happens at import.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from tests.processes.race_worker import build_facade

CONFLICT_RETRIES = 50  # only the storage's own retries could need one: every write merges


def write_keys(spec: dict[str, Any], results: Any) -> None:
    """Each of ``spec["threads"]`` threads writes its key ``p<process>t<thread>`` ``spec["writes"]``
    times (values 1, 2, ...), all starting at ``spec["start_at_wall"]``; puts into ``results``
    each thread's acknowledged versions, or the errors."""
    facade = build_facade(
        spec["storage"],
        spec["redis_url"],
        spec["database_url"],
        spec["table_prefix"],
        bytes.fromhex(spec["key"]),
    )
    acknowledged: dict[str, list[int]] = {}
    errors: list[str] = []

    def run(thread: int) -> None:
        key = f"p{spec['index']}t{thread}"
        versions: list[int] = []
        try:
            for value in range(1, spec["writes"] + 1):
                if time.time() > spec["deadline_wall"]:
                    errors.append(f"{key}: deadline reached after {value - 1} writes")
                    break
                stored = facade.write_session_data(spec["token"], set={key: value})
                versions.append(stored.version)
        except Exception:
            errors.append(f"{key}: {traceback.format_exc()}")
        acknowledged[key] = versions

    threads = [threading.Thread(target=run, args=(t,)) for t in range(spec["threads"])]
    try:
        while time.time() < spec["start_at_wall"]:
            time.sleep(0.005)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(1.0, spec["deadline_wall"] - time.time() + 5))
    finally:
        facade.close()
        results.put({"index": spec["index"], "acknowledged": acknowledged, "errors": errors})
