// Calls local:greeter-demo/greet.greet through a witmesh sidecar's HTTP gateway with the
// built-in fetch (Node 18+):  WITMESH_HTTP=127.0.0.1:8080 node examples/node/greet.mjs world

const gateway = process.env.WITMESH_HTTP ?? "127.0.0.1:8080";
const name = process.argv[2] ?? "world";

const answer = await fetch(
  `http://${gateway}/v1/call/local:greeter-demo/greet/greet`,
  {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  },
);
const body = await answer.json();
if (!answer.ok) {
  console.error(`${body.status} ${body.kind}: ${body.detail}`);
  process.exit(1);
}
console.log(body.result);
