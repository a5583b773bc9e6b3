// The Node side of measurement 1: what @line/bot-sdk's middleware() does per webhook request
// (validateSignature: HMAC-SHA256 of the raw body, Base64; then JSON.parse), on the very
// body and secret that benches/verify_parse.rs measures (read from that file).
//
//   node verify_parse.js            # prints one JSON line: ns/op for each variant
//
// Variants:
//   middleware  the SDK's own middleware function, called as express calls it, with a fake
//               req whose rawBody is the pre-read Buffer (the path the SDK takes for
//               Cloud Functions and others). It is async, so each op awaits its next().
//   direct      the SDK's exported validateSignature(body, secret, sig) then JSON.parse of
//               body.toString(): the same work without the middleware's promise.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const line = require("@line/bot-sdk");

const rustBench = fs.readFileSync(path.join(__dirname, "..", "..", "benches", "verify_parse.rs"), "utf8");
const BODY = Buffer.from(/const BODY: &str = r#"(.*?)"#;/.exec(rustBench)[1], "utf8");
const SECRET = /const SECRET: &str = "(.*?)";/.exec(rustBench)[1];
const SIGNATURE = require("node:crypto").createHmac("sha256", SECRET).update(BODY).digest("base64");

const WARMUP_MS = Number(process.env.WARMUP_MS || 1500);
const ROUNDS = Number(process.env.ROUNDS || 7);
const ROUND_MS = Number(process.env.ROUND_MS || 500);

const mw = line.middleware({ channelSecret: SECRET });
const res = {};

function viaMiddleware() {
  const req = { headers: { "x-line-signature": SIGNATURE }, rawBody: BODY };
  return new Promise((resolve, reject) => {
    mw(req, res, (err) => (err ? reject(err) : resolve(req.body)));
  });
}

function direct() {
  if (!line.validateSignature(BODY, SECRET, SIGNATURE)) throw new Error("signature did not verify");
  return JSON.parse(BODY.toString());
}

// Runs `fn` in batches until `ms` have passed; returns [ops, ns].
async function runFor(fn, isAsync, ms) {
  const until = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  const start = process.hrtime.bigint();
  let ops = 0;
  let sink = 0;
  for (;;) {
    for (let i = 0; i < 1000; i++) {
      const out = isAsync ? await fn() : fn();
      sink += out.events.length;
    }
    ops += 1000;
    const now = process.hrtime.bigint();
    if (now >= until) {
      if (sink !== ops) throw new Error("a body did not parse to one event");
      return [ops, Number(now - start)];
    }
  }
}

async function measure(name, fn, isAsync) {
  const first = isAsync ? await fn() : fn();
  if (first.events[0].message.text.indexOf("営業時間") !== 0) throw new Error("unexpected parse");
  await runFor(fn, isAsync, WARMUP_MS);
  const perOp = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [ops, ns] = await runFor(fn, isAsync, ROUND_MS);
    perOp.push(ns / ops);
  }
  perOp.sort((a, b) => a - b);
  const median = perOp[Math.floor(perOp.length / 2)];
  return { name, ns_per_op: median, ops_per_s: 1e9 / median, min_ns: perOp[0], max_ns: perOp[perOp.length - 1] };
}

(async () => {
  const results = [await measure("middleware", viaMiddleware, true), await measure("direct", direct, false)];
  const out = { node: process.version, body_bytes: BODY.length, results };
  process.stdout.write(JSON.stringify(out) + "\n");
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
