"""Calls local:greeter-demo/greet.greet through a witmesh sidecar's HTTP gateway.

Standard library only:  WITMESH_HTTP=127.0.0.1:8080 python3 examples/python/greet.py world
"""

import json
import os
import sys
import urllib.error
import urllib.request


def call(gateway, instance, function, params):
    """POSTs the named parameters as JSON; returns the results object or raises."""
    request = urllib.request.Request(
        f"http://{gateway}/v1/call/{instance}/{function}",
        data=json.dumps(params).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as e:
        problem = json.load(e)
        raise SystemExit(f"{problem['status']} {problem['kind']}: {problem['detail']}")


def main():
    gateway = os.environ.get("WITMESH_HTTP", "127.0.0.1:8080")
    name = sys.argv[1] if len(sys.argv) > 1 else "world"
    results = call(gateway, "local:greeter-demo/greet", "greet", {"name": name})
    print(results["result"])


if __name__ == "__main__":
    main()
