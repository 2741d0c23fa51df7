// The /sd floor in its own process, as the bridge is: a bare node server answering the bytes the bridge's
// /sd served (its JSON, gzipped once), so the load generator in the parent meets the same process
// boundary for both. Argument: the bridge's /sd URL; sends {url} over IPC when listening, exits on "exit".
import { createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

const [source] = process.argv.slice(2) as [string];
const json = await new Promise<Buffer>((resolve, reject) =>
  get(source, (res) => {
    const parts: Buffer[] = [];
    res.on("data", (d: Buffer) => parts.push(d));
    res.on("end", () => resolve(Buffer.concat(parts)));
  }).on("error", reject),
);
const gz = gzipSync(json);
const server = createServer((req, res) => {
  const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": gzip ? gz.length : json.length,
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  });
  res.end(gzip ? gz : json);
});
server.listen(0, "127.0.0.1", () =>
  process.send!({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sd` }),
);
process.on("message", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
