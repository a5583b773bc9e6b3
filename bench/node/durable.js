// The durable peer for bench/run.sh: server.js's express + official LINE SDK middleware, plus
// what our webhook does before its 200: each event made durable, idempotently, keyed by its
// webhookEventId. Node's built-in SQLite (`node:sqlite`, Node >= 22.13 / 24; no dependency):
// WAL, synchronous=FULL (the WAL is fsynced at every commit), INSERT OR IGNORE of every event
// of the request in ONE transaction (BEGIN ... COMMIT) before the 200. No handling after it.
//
//   LINE_CHANNEL_SECRET=... PORT=3002 DATA_DIR=/some/fresh/dir NODE_ENV=production node durable.js
//
// DATA_DIR must exist, on a real disk (not tmpfs: the fsync is the point); the database is
// DATA_DIR/events.sqlite.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { DatabaseSync } = require("node:sqlite");
const express = require("express");
const line = require("@line/bot-sdk");

const channelSecret = process.env.LINE_CHANNEL_SECRET;
const dataDir = process.env.DATA_DIR;
if (!channelSecret || !dataDir) {
  console.error("LINE_CHANNEL_SECRET and DATA_DIR are required");
  process.exit(1);
}
if (!fs.statSync(dataDir, { throwIfNoEntry: false })?.isDirectory()) {
  console.error(`DATA_DIR ${dataDir} is not a directory`);
  process.exit(1);
}
const port = Number(process.env.PORT || 3002);

const db = new DatabaseSync(path.join(dataDir, "events.sqlite"));
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = FULL");
db.exec(`CREATE TABLE IF NOT EXISTS events (
  webhook_event_id TEXT PRIMARY KEY,
  conversation     TEXT,
  timestamp        INTEGER,
  event            TEXT NOT NULL
)`);
// The settings must hold, or the figures would measure another peer.
const mode = db.prepare("PRAGMA journal_mode").get().journal_mode;
const sync = db.prepare("PRAGMA synchronous").get().synchronous;
if (mode !== "wal" || sync !== 2) {
  console.error(`SQLite is journal_mode=${mode}, synchronous=${sync}; want wal, 2 (FULL)`);
  process.exit(1);
}

const insert = db.prepare(
  "INSERT OR IGNORE INTO events (webhook_event_id, conversation, timestamp, event) VALUES (?, ?, ?, ?)",
);

// The conversation an event belongs to: its group, else its room, else its user.
function conversation(source) {
  if (!source) return null;
  return source.groupId ?? source.roomId ?? source.userId ?? null;
}

// All of a request's events in one transaction; returns how many were new.
function logEvents(events) {
  let logged = 0;
  db.exec("BEGIN");
  try {
    for (const event of events) {
      const r = insert.run(
        event.webhookEventId ?? null,
        conversation(event.source),
        event.timestamp ?? null,
        JSON.stringify(event),
      );
      logged += Number(r.changes);
    }
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
  return logged;
}

const app = express();

app.get("/health", (req, res) => res.json({ status: "ok" }));

app.post("/webhook", line.middleware({ channelSecret }), (req, res, next) => {
  const events = req.body.events;
  let logged;
  try {
    logged = logEvents(events);
  } catch (err) {
    return next(err);
  }
  res.json({ status: "ok", logged, duplicates: events.length - logged });
});

// The SDK's errors: a bad signature is 401, a body that is not JSON 400; the store's 500.
app.use((err, req, res, next) => {
  if (err instanceof line.SignatureValidationFailed) {
    res.status(401).json({ error: "signature_invalid" });
  } else if (err instanceof line.JSONParseError) {
    res.status(400).json({ error: "malformed_body" });
  } else {
    console.error(err);
    res.status(500).json({ error: "store_failed" });
  }
});

const server = app.listen(port, "127.0.0.1", () => {
  if (process.env.BENCH_VERBOSE) console.error(`listening on 127.0.0.1:${port}`);
});

function shutdown() {
  server.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
