// A tiny web app for fcm: listens on $PORT (8000), answers every request.
const http = require("http");
const os = require("os");

const port = parseInt(process.env.PORT || "8000", 10);
const message = "Hello from fcm!";

http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>fcm</title>\n<h1>${message}</h1>\n<p>Node.js app running on ${os.hostname()}.</p>\n`);
  })
  .listen(port, "0.0.0.0", () => console.log(`listening on 0.0.0.0:${port}`));
