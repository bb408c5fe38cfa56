// A tiny HTTP service: `/` says hello and which task answered, `/health` is
// what the container health check and the load balancer probe.
"use strict";

const http = require("node:http");
const os = require("node:os");

const port = Number(process.env.PORT || 8080);
const greeting = process.env.GREETING || "hello from imagedeploy";

const server = http.createServer((req, res) => {
    if (req.url === "/health") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: greeting, host: os.hostname() }) + "\n");
});

server.listen(port, () => {
    console.log(`listening on :${port}`);
});

// ECS stops tasks with SIGTERM: finish in-flight requests, then exit.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
