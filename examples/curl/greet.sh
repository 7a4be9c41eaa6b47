#!/usr/bin/env sh
# Calls local:greeter-demo/greet.greet through a witmesh sidecar's HTTP gateway with curl.
#   WITMESH_HTTP=127.0.0.1:8080 sh examples/curl/greet.sh world
set -eu
gateway="${WITMESH_HTTP:-127.0.0.1:8080}"
name="${1:-world}"
curl --silent --show-error --fail-with-body \
  -X POST "http://$gateway/v1/call/local:greeter-demo/greet/greet" \
  -H 'content-type: application/json' \
  -d "{\"name\": \"$name\"}"
echo
