// The peer: PostGraphile 4 (library mode) on node's http server, one process per core like
// `groupbuy serve --workers 2`. It connects as the SAME app role as groupbuy and sets the SAME
// `app.tenant_id` through pgSettings, so every request pays for a transaction, set_config and
// row-level security exactly as ours does. Installed by bench (npm) into bench/.peer/.
const cluster = require("cluster");
const http = require("http");

const port = Number(process.env.PEER_PORT || 5000);
const workers = Number(process.env.PEER_WORKERS || 2);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", () => process.exit(1));
} else {
  const { postgraphile } = require("postgraphile");
  const tenant = process.env.PEER_TENANT_ID;
  const middleware = postgraphile(process.env.PEER_DATABASE_URL, "public", {
    pgSettings: async () => ({ "app.tenant_id": tenant }),
    graphiql: false,
    disableQueryLog: true,
    dynamicJson: true,
    ignoreRBAC: false,
    retryOnInitFail: false,
    extendedErrors: [],
  });
  http
    .createServer((req, res) => {
      if (req.url === "/health") {
        res.writeHead(200, { "content-type": "text/plain" });
        return res.end("ok");
      }
      return middleware(req, res);
    })
    .listen(port, "127.0.0.1");
}
