// The peer server for bench/run.sh: express with the official LINE SDK's webhook middleware,
// as the SDK's README sets it up, answering 200 once the middleware has verified
// x-line-signature and parsed the body. No store, no handling: verify + parse only.
//
//   LINE_CHANNEL_SECRET=... PORT=3001 NODE_ENV=production node server.js
"use strict";

const express = require("express");
const line = require("@line/bot-sdk");

const channelSecret = process.env.LINE_CHANNEL_SECRET;
if (!channelSecret) {
  console.error("LINE_CHANNEL_SECRET is required");
  process.exit(1);
}
const port = Number(process.env.PORT || 3001);

const app = express();

app.get("/health", (req, res) => res.json({ status: "ok" }));

app.post("/webhook", line.middleware({ channelSecret }), (req, res) => {
  res.json({ status: "ok", events: req.body.events.length });
});

// The SDK's errors: a bad signature is 401, a body that is not JSON 400.
app.use((err, req, res, next) => {
  if (err instanceof line.SignatureValidationFailed) {
    res.status(401).json({ error: "signature_invalid" });
  } else if (err instanceof line.JSONParseError) {
    res.status(400).json({ error: "malformed_body" });
  } else {
    next(err);
  }
});

app.listen(port, "127.0.0.1", () => {
  if (process.env.BENCH_VERBOSE) console.error(`listening on 127.0.0.1:${port}`);
});
