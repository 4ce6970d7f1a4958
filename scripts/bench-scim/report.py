"""Prints the table of scripts/bench-scim.sh and checks the targets.

    python3 report.py RESULTS_TSV SETTINGS_TSV

RESULTS_TSV has one line per (server, scenario) with the columns of HEADER. SETTINGS_TSV
holds `key<TAB>value` lines: users, seconds, connections, threads, wrk, server_cpu, load_cpu,
degraded, and `rss_kib:<server>` / `hwm_kib:<server>` for the Roster servers.
"""

import csv
import sys

HEADER = [
    "server", "scenario", "requests", "seconds", "rps", "p50_us", "p99_us", "max_us",
    "status_errors", "socket_errors", "timeouts", "server_cpu", "load_cpu",
]
SCENARIOS = ["get", "filter", "list", "post", "patch"]
SERVERS = ["minimal", "roster-sqlite", "scim2-server", "roster-postgres"]
DESCRIPTIONS = {
    "get": "GET /Users/{id}",
    "filter": "filter=userName eq",
    "list": "list page of 100",
    "post": "POST /Users",
    "patch": "PATCH active",
}
# Roster on SQLite against the minimal handler's rate, for these scenarios.
MIN_SHARE_OF_MINIMAL = {"get": 0.40, "filter": 0.40}
# Roster on SQLite against scim2-server's rate.
MIN_TIMES_SCIM2 = {"get": 10, "filter": 10, "list": 20, "post": 10, "patch": 10}
MAX_P99_TIMES_MINIMAL = 5
MAX_RSS_MIB = 100
# wrk above this share of its core may have limited the rate rather than the server.
LOAD_SATURATED = 90


def read(path):
    with open(path, newline="") as file:
        rows = list(csv.reader(file, delimiter="\t"))
    return rows


def rate_bound(row, connections):
    """The highest rate the server can have had: as if every request still in flight at the end,
    or given up by wrk's timeout, had completed then. Near req/s when requests take a small
    share of the run; far above it when they take most of it (scim2-server's list pages)."""
    completed = int(row["requests"]) + int(row["timeouts"]) + connections
    return completed / float(row["seconds"])


def errors(row):
    return int(row["status_errors"]) + int(row["socket_errors"]) + int(row["timeouts"])


def main():
    results = {}
    for fields in read(sys.argv[1]):
        row = dict(zip(HEADER, fields))
        results[(row["server"], row["scenario"])] = row
    settings = dict(read(sys.argv[2]))
    servers = [s for s in SERVERS if any((s, sc) in results for sc in SCENARIOS)]

    print()
    print(
        f"SCIM benchmark: {settings['users']} users preloaded into each server, "
        f"{settings['seconds']} s per scenario, {settings['wrk']} with "
        f"{settings['threads']} thread(s) and {settings['connections']} connections "
        f"on CPU {settings['load_cpu']}, each server on CPU {settings['server_cpu']}"
    )
    if settings.get("degraded") == "yes":
        print(
            "DEGRADED: only one CPU is available, so the servers and the load generator "
            "share it; the figures are not comparable with the targets."
        )
    print()
    line = "{:<20} {:<16} {:>10} {:>9} {:>9} {:>7} {:>9} {:>8} {:>8}"
    print(line.format(
        "scenario", "server", "req/s", "p50 ms", "p99 ms", "errors", "requests",
        "srv cpu", "wrk cpu",
    ))
    saturated = False
    for scenario in SCENARIOS:
        for server in servers:
            row = results.get((server, scenario))
            if row is None:
                continue
            load = float(row["load_cpu"])
            mark = "*" if load >= LOAD_SATURATED else ""
            saturated = saturated or bool(mark)
            print(line.format(
                DESCRIPTIONS[scenario], server, f"{float(row['rps']):.1f}",
                f"{int(row['p50_us']) / 1000:.2f}", f"{int(row['p99_us']) / 1000:.2f}",
                errors(row), row["requests"], f"{float(row['server_cpu']):.0f}%",
                f"{load:.0f}%{mark}",
            ))
    print()
    print(
        "errors: responses with status >= 400, socket errors and timeouts, as wrk counts them.\n"
        "srv cpu: the server's CPU time over the run, 100% = its whole core (roster-postgres: "
        "Roster and the throwaway PostgreSQL, which share that core).\n"
        "wrk cpu: the load generator's, on its own core."
    )
    if saturated:
        print(
            f"*: wrk used {LOAD_SATURATED}% or more of its core, so that server's req/s is a "
            "lower bound and a ratio to it an upper bound."
        )

    checks = []

    def check(ok, text):
        checks.append(ok)
        return f"{text} {'PASS' if ok else 'FAIL'}"

    def cell(server, scenario):
        return results.get((server, scenario))

    print()
    print("Targets, Roster on SQLite:")
    target = "{:<20} {:<28} {:<28} {:<24} {:<12} {}"
    print(target.format(
        "scenario", "req/s vs minimal", "req/s vs scim2-server", "p99 vs minimal p99",
        "errors", "PostgreSQL/SQLite req/s",
    ))
    for scenario in SCENARIOS:
        roster = cell("roster-sqlite", scenario)
        if roster is None:
            continue
        minimal = cell("minimal", scenario)
        scim2 = cell("scim2-server", scenario)
        postgres = cell("roster-postgres", scenario)
        rps = float(roster["rps"])
        share = "-"
        if minimal is not None and scenario in MIN_SHARE_OF_MINIMAL:
            ratio = rps / max(float(minimal["rps"]), 1e-9)
            share = check(ratio >= MIN_SHARE_OF_MINIMAL[scenario],
                          f"{ratio:.2f} (>= {MIN_SHARE_OF_MINIMAL[scenario]:.2f})")
        elif minimal is not None:
            share = f"{rps / max(float(minimal['rps']), 1e-9):.2f}"
        times = "-"
        if scim2 is not None:
            ratio = rps / rate_bound(scim2, int(settings["connections"]))
            times = check(ratio >= MIN_TIMES_SCIM2[scenario],
                          f"{ratio:.1f}x (>= {MIN_TIMES_SCIM2[scenario]}x)")
        p99 = "-"
        if minimal is not None:
            ratio = int(roster["p99_us"]) / max(int(minimal["p99_us"]), 1)
            p99 = check(ratio < MAX_P99_TIMES_MINIMAL,
                        f"{ratio:.1f}x (< {MAX_P99_TIMES_MINIMAL}x)")
        count = errors(roster)
        error_text = check(count == 0, str(count))
        pg = "-"
        if postgres is not None:
            pg = f"{float(postgres['rps']) / max(rps, 1e-9):.2f}"
            pg += f" (p99 {int(postgres['p99_us']) / 1000:.2f} ms, errors {errors(postgres)})"
        print(target.format(DESCRIPTIONS[scenario], share, times, p99, error_text, pg))
    print()
    print(
        "Against scim2-server, Roster's req/s is divided by the highest rate scim2-server can "
        "have had, (requests + timeouts + connections) / seconds, so that its requests still "
        "in flight when a run ends count for it."
    )
    print()
    for server in ("roster-sqlite", "roster-postgres"):
        rss = settings.get(f"rss_kib:{server}")
        if rss is None:
            continue
        rss_mib = int(rss) / 1024
        hwm_mib = int(settings.get(f"hwm_kib:{server}", rss)) / 1024
        text = f"{server} VmRSS after the run: {rss_mib:.1f} MiB (peak VmHWM {hwm_mib:.1f} MiB)"
        if server == "roster-sqlite":
            text = check(rss_mib < MAX_RSS_MIB, f"{text}, target < {MAX_RSS_MIB} MiB")
        print(text)
    print()
    failed = checks.count(False)
    if failed == 0:
        print(f"targets: all {len(checks)} met")
    else:
        print(f"targets: {failed} of {len(checks)} NOT met")


if __name__ == "__main__":
    main()
