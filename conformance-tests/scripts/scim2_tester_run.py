"""Runs the scim2-tester suite against a live Roster server and fails on any failed check.

Usage: scim2_tester_run.py BASE_URL TOKEN
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    counts: dict[str, int] = {}
    for result in results:
        name = result.status.name
        counts[name] = counts.get(name, 0) + 1
        if result.status != Status.SUCCESS:
            where = f"[{result.resource_type}] " if getattr(result, "resource_type", None) else ""
            reason = (result.reason or "").splitlines()[0] if result.reason else ""
            print(f"{name:10} {where}{result.title}: {reason}")
    summary = ", ".join(f"{count} {name.lower()}" for name, count in sorted(counts.items()))
    print(f"scim2-tester: {len(results)} checks: {summary}")
    failed = sum(1 for result in results if result.status in FAILED)
    print(f"scim2-tester: {failed} failed checks")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
