#!/usr/bin/env python3
"""Pre-generates signed LINE webhook bodies for the HTTP load in bench/run.sh.

Each line of the output is `<x-line-signature>\t<raw body>`: one text-message event per
body (~500 bytes, Japanese text, as LINE sends it: compact JSON, non-ASCII as UTF-8), and
every body has its own webhookEventId, message id, replyToken and quoteToken, so the
server under load never takes its cheap duplicate path. Users come from a fixed pool, so
conversations get several messages, as in real traffic.

--mode active (the default) writes events our server answers; --mode standby writes the same
events with LINE's `"mode":"standby"` (another channel has the chat): logged, never answered.
Both modes have the same shape, sizes, users and texts; only the mode differs.

Standard library only, deterministic for a given --seed. Usage:

    python3 bench/make_bodies.py --count 200000 --secret S --out bodies.tsv
    python3 bench/make_bodies.py --count 200000 --mode standby --secret S --out standby.tsv
    python3 bench/make_bodies.py --verify --secret S --out verify.tsv   # the Verify-button body
"""

import argparse
import base64
import hashlib
import hmac
import json
import random
import sys
import time

DESTINATION = "U34137fbc8684fb119f3edea63d23879a"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TEXTS = [
    "営業時間は何時から何時までですか？土日も開いていますか？",
    "予約の変更をお願いしたいです。明日の15時から17時に変更できますか？",
    "商品がまだ届いていません。注文番号は A-20250601-0042 です。確認をお願いします。",
    "駐車場はありますか？車で伺う予定です。",
    "Hello! 英語でも問い合わせできますか？ Thanks a lot 🙏",
    "先日はありがとうございました。とても美味しかったです！また伺います😊",
    "キャンセル料はいつから発生しますか？",
    "ギフト用のラッピングはお願いできますか？のし紙もつけてほしいです。",
]


def ulid(rng: random.Random, ms: int) -> str:
    """A ULID as LINE's webhookEventId: 48-bit time + 80 random bits, Crockford Base32."""
    n = (ms << 80) | rng.getrandbits(80)
    return "".join([CROCKFORD[(n >> shift) & 31] for shift in range(125, -1, -5)])


def sign(secret: bytes, body: bytes) -> str:
    return base64.b64encode(hmac.digest(secret, body, "sha256")).decode("ascii")


def compact(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def text_event(rng: random.Random, i: int, users: list, base_ms: int, mode: str = "active") -> dict:
    ms = base_ms + i * 7
    return {
        "type": "message",
        "message": {
            "type": "text",
            "id": str(560400319141879097 + i),
            "quoteToken": base64.urlsafe_b64encode(rng.getrandbits(384).to_bytes(48, "big")).decode("ascii"),
            "text": TEXTS[i % len(TEXTS)],
        },
        "webhookEventId": ulid(rng, ms),
        "deliveryContext": {"isRedelivery": False},
        "timestamp": ms,
        "source": {"type": "user", "userId": users[i % len(users)]},
        "replyToken": "%032x" % rng.getrandbits(128),
        "mode": mode,
    }


def text_body(rng: random.Random, i: int, users: list, base_ms: int, mode: str = "active") -> bytes:
    # Same bytes as compact({"destination": ..., "events": [text_event(...)]}), built by
    # formatting because json.dumps is most of the time for 200k bodies (checked in main).
    ms = base_ms + i * 7
    quote = base64.urlsafe_b64encode(rng.getrandbits(384).to_bytes(48, "big")).decode("ascii")
    event_id = ulid(rng, ms)
    reply = "%032x" % rng.getrandbits(128)
    return (
        f'{{"destination":"{DESTINATION}","events":[{{"type":"message","message":{{"type":"text",'
        f'"id":"{560400319141879097 + i}","quoteToken":"{quote}","text":"{TEXTS[i % len(TEXTS)]}"}},'
        f'"webhookEventId":"{event_id}","deliveryContext":{{"isRedelivery":false}},"timestamp":{ms},'
        f'"source":{{"type":"user","userId":"{users[i % len(users)]}"}},"replyToken":"{reply}","mode":"{mode}"}}]}}'
    ).encode("utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=1000, help="size of the user pool")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20250601)
    ap.add_argument("--mode", choices=("active", "standby"), default="active",
                    help="the events' mode: active (answered) or standby (logged only)")
    ap.add_argument("--verify", action="store_true", help="write only the Verify-button body")
    args = ap.parse_args()
    secret = args.secret.encode("utf-8")
    rng = random.Random(args.seed)
    with open(args.out, "wb") as out:
        if args.verify:
            body = compact({"destination": DESTINATION, "events": []})
            out.write(sign(secret, body).encode("ascii") + b"\t" + body + b"\n")
            return 0
        users = ["U%032x" % rng.getrandbits(128) for _ in range(args.users)]
        # Dated just before now: the server ignores events older than its replay window
        # (a week), so fixed old dates would measure the stale path, not the durable write.
        base_ms = int(time.time() * 1000) - args.count * 7 - 60_000
        # The formatted body must be exactly what json.dumps would write.
        a, b = random.Random(1), random.Random(1)
        assert text_body(a, 3, users, base_ms, args.mode) == compact(
            {"destination": DESTINATION, "events": [text_event(b, 3, users, base_ms, args.mode)]})
        total = 0
        for i in range(args.count):
            # The ULID's time part grows with i, so every webhookEventId is distinct.
            body = text_body(rng, i, users, base_ms, args.mode)
            assert b"\n" not in body and b"\t" not in body
            total += len(body)
            out.write(sign(secret, body).encode("ascii") + b"\t" + body + b"\n")
    print(f"{args.count} {args.mode} bodies, mean {total / max(args.count, 1):.0f} bytes, in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
