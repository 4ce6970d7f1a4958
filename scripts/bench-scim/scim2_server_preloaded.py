"""Runs the `scim2-server` command (PyPI scim2-server) with users preloaded, for
scripts/bench-scim.sh.

    python scim2_server_preloaded.py USERS_JSONL IDS_OUT -- [scim2-server arguments]

Before the server starts listening, every line of USERS_JSONL (one SCIM User resource, as
bench_scim_load writes them) is created through the application's own request path: a
`POST /Users` handed to the same WSGI application the server then serves, with the same
validation and storage. The id the server gave each user is written to IDS_OUT as
`id<TAB>userName`. Then the unchanged `scim2-server` entry point runs with the arguments after
`--`: its in-memory storage and its threaded wsgiref server, in this one process.

The server keeps the command's defaults, including socketserver's listen backlog of 5: wsgiref
closes the connection after every response, so some of 32 reconnecting clients wait out TCP's
one-second SYN retransmission, which shows in its p99. A larger backlog (tried: 1024) removes
those stalls but lowers its rate, as more threads then contend for the GIL; the benchmark
compares rates, so the default is both the normal server and its faster setting.
"""

import sys
import time

from scim2_server.requests import ScimRequest
from scim2_server.testserver import cli


def preload(application, users_path, ids_path, base_url, token):
    headers = {"Content-Type": "application/scim+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    count = 0
    with open(users_path, encoding="utf-8") as users, open(ids_path, "w") as ids:
        for line in users:
            request = ScimRequest(
                method="POST",
                base_url=base_url,
                path="/Users",
                headers=headers,
                body=line.encode(),
            )
            response = application.serve(request)
            if response.status != 201:
                sys.exit(f"preloading {line.strip()} failed: {response.status} {response.body}")
            ids.write(f"{response.body['id']}\t{response.body['userName']}\n")
            count += 1
    print(
        f"scim2_server_preloaded: {count} users created in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def main():
    if len(sys.argv) < 4 or sys.argv[3] != "--":
        sys.exit(__doc__)
    users_path, ids_path = sys.argv[1], sys.argv[2]
    server_args = sys.argv[4:]
    parser = cli.build_parser()
    args = parser.parse_args(server_args)
    token = (args.bearer_token or [None])[0]
    real_make_server = cli.make_server

    def make_preloaded_server(host, port, application, **kwargs):
        preload(application, users_path, ids_path, f"http://{host}:{port}/v2", token)
        return real_make_server(host, port, application, **kwargs)

    cli.make_server = make_preloaded_server
    sys.argv = ["scim2-server", *server_args]
    cli.main()


if __name__ == "__main__":
    main()
