"""A deterministic corpus of API-like JSON messages, for deflate benchmarks.

    from json_corpus import corpus, sized_message
    msgs = corpus(1000)           # list of bytes, same on every run
    msg = sized_message(256, 3)   # one valid JSON document of exactly 256 bytes

What a WebSocket server typically sends: chat messages, presence updates,
market ticks and order-book snapshots, telemetry batches, notifications,
paginated API listings. Keys repeat from message to message, values vary
(ids, timestamps, prices, free text), sizes run from under 100 B to tens of
KiB: about 60% under 512 B, 30% up to 4 KiB, 10% larger. Only ``random``
seeded per call is used, so the bytes are the same on every machine and
Python version (``random.Random`` with an int seed is stable).

Run it to see the size distribution: ``python3 benchmarks/json_corpus.py``.
"""

import json
import random

WORDS = (
    "the a to of and in is it you that for on with this be are was have not "
    "at as but we your can if do all so what out up my just about will from "
    "deploy build server client release cache token latency error retry queue "
    "meeting review update ticket merge branch report today tomorrow please "
    "thanks great issue fixed pushed looks good ship dashboard metrics alert "
    "customer order invoice payment refund shipping account profile settings"
).split()
FIRST = "alice bob carol dave erin frank grace heidi ivan judy mallory nia olga peggy rupert sybil trent victor walter yuki".split()
LAST = "smith jones garcia miller davis martin lee walker hall young king wright lopez hill scott green adams baker".split()
CHANNELS = ["general", "random", "dev", "ops", "support", "sales", "design", "release"]
SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD", "DOGE-USD", "LTC-EUR", "XRP-EUR", "DOT-USDT"]
STATUSES = ["online", "idle", "dnd", "offline"]
EVENTS = ["order.created", "order.paid", "order.shipped", "user.login", "user.logout", "invoice.overdue"]
CATEGORIES = ["books", "electronics", "garden", "toys", "kitchen", "sports", "music", "office"]

T0 = 1_700_000_000.0


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class _Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.t = T0
        self.seq = 1000
        self.prices = {s: 10 ** self.r.uniform(-1, 4.6) for s in SYMBOLS}

    # -- pieces ------------------------------------------------------------

    def tick(self):
        self.t += self.r.expovariate(20.0)
        self.seq += 1
        return self.t

    def iso(self, t=None):
        t = self.t if t is None else t
        whole = int(t)
        days, rem = divmod(whole, 86400)
        h, rem = divmod(rem, 3600)
        m, s = divmod(rem, 60)
        ms = int((t - whole) * 1000)
        # Not a calendar conversion, just a stable timestamp-shaped string.
        return "2024-%02d-%02dT%02d:%02d:%02d.%03dZ" % (days % 12 + 1, days % 28 + 1, h, m, s, ms)

    def uid(self):
        r = self.r
        return "%08x-%04x-4%03x-%04x-%012x" % (
            r.getrandbits(32), r.getrandbits(16), r.getrandbits(12),
            0x8000 | r.getrandbits(14), r.getrandbits(48))

    def words(self, lo, hi):
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(lo, hi)))

    def user(self, full=False):
        r = self.r
        first, last = r.choice(FIRST), r.choice(LAST)
        u = {"id": r.randint(1, 500000), "name": "%s %s" % (first.title(), last.title()),
             "handle": "%s_%s%d" % (first, last, r.randint(1, 99))}
        if full:
            u.update({
                "email": "%s.%s@example.com" % (first, last),
                "avatar": "https://cdn.example.com/avatars/%d.png" % u["id"],
                "created_at": self.iso(T0 - r.randint(0, 10 ** 8)),
                "verified": r.random() < 0.7,
                "locale": r.choice(["en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"]),
                "roles": r.sample(["admin", "member", "billing", "viewer", "owner"], r.randint(1, 3)),
            })
        return u

    def price(self, sym):
        p = self.prices[sym] = self.prices[sym] * (1 + self.r.gauss(0, 0.0005))
        return "%.*f" % (2 if p > 10 else 5, p)

    # -- message kinds ---------------------------------------------------

    def ticker(self):
        self.tick()
        sym = self.r.choice(SYMBOLS)
        return {"type": "ticker", "sequence": self.seq, "product_id": sym,
                "price": self.price(sym), "side": self.r.choice(["buy", "sell"]),
                "last_size": "%.8f" % self.r.expovariate(3), "best_bid": self.price(sym),
                "best_ask": self.price(sym), "time": self.iso(), "trade_id": self.seq * 7 + 3}

    def presence(self):
        self.tick()
        d = {"user_id": str(self.r.randint(10 ** 17, 10 ** 18)),
             "status": self.r.choice(STATUSES), "client_status": {"desktop": "online"}}
        if self.r.random() < 0.5:
            d["activities"] = [{"name": self.words(1, 3), "type": self.r.randint(0, 4),
                                "created_at": int(self.t * 1000)}]
        return {"op": 0, "t": "PRESENCE_UPDATE", "s": self.seq, "d": d}

    def chat(self):
        self.tick()
        r = self.r
        m = {"type": "message", "id": self.uid(), "channel": r.choice(CHANNELS),
             "user": self.user(), "text": self.words(3, 40), "ts": "%.6f" % self.t}
        if r.random() < 0.3:
            m["reactions"] = [{"name": r.choice(["+1", "tada", "eyes", "rocket"]),
                               "count": r.randint(1, 9)} for _ in range(r.randint(1, 3))]
        if r.random() < 0.2:
            m["thread_ts"] = "%.6f" % (self.t - r.uniform(1, 3600))
        return m

    def notification(self):
        self.tick()
        r = self.r
        return {"event": r.choice(EVENTS), "id": "evt_" + self.uid().replace("-", "")[:24],
                "created": int(self.t), "livemode": False,
                "data": {"object": {"id": "ord_%d" % r.randint(10 ** 6, 10 ** 7),
                                    "amount": r.randint(100, 500000), "currency": r.choice(["usd", "eur", "gbp"]),
                                    "customer": self.user(), "status": r.choice(["pending", "paid", "shipped"]),
                                    "metadata": {"source": r.choice(["web", "ios", "android"]),
                                                 "campaign": r.choice(["", "spring", "bf2024"])}}}}

    def telemetry(self, n):
        self.tick()
        r = self.r
        base = r.uniform(15, 30)
        return {"device": "sensor-%03d" % r.randint(1, 400), "fw": "2.%d.%d" % (r.randint(0, 9), r.randint(0, 20)),
                "readings": [{"t": int(self.t * 1000) + 250 * i, "temp": round(base + r.gauss(0, 0.3), 2),
                              "hum": round(r.uniform(30, 60), 1), "bat": r.randint(60, 100)}
                             for i in range(n)]}

    def book(self, n):
        self.tick()
        sym = self.r.choice(SYMBOLS)
        mid = self.prices[sym]
        fmt = "%.2f" if mid > 10 else "%.5f"
        bids = [[fmt % (mid * (1 - 0.0001 * (i + 1))), "%.8f" % self.r.expovariate(2)] for i in range(n)]
        asks = [[fmt % (mid * (1 + 0.0001 * (i + 1))), "%.8f" % self.r.expovariate(2)] for i in range(n)]
        return {"type": "snapshot", "product_id": sym, "time": self.iso(), "bids": bids, "asks": asks}

    def listing(self, n):
        self.tick()
        r = self.r
        items = []
        for _ in range(n):
            items.append({"id": r.randint(10 ** 5, 10 ** 6), "sku": "SKU-%06d" % r.randint(0, 999999),
                          "title": self.words(2, 6).title(), "category": r.choice(CATEGORIES),
                          "price": {"amount": round(r.uniform(1, 900), 2), "currency": "USD"},
                          "stock": r.randint(0, 500), "rating": round(r.uniform(1, 5), 1),
                          "seller": self.user(full=r.random() < 0.3),
                          "updated_at": self.iso(self.t - r.uniform(0, 10 ** 6)),
                          "tags": r.sample(WORDS, r.randint(0, 4))})
        page = r.randint(1, 50)
        return {"data": items, "page": page, "per_page": n, "total": r.randint(n * page, 10 ** 5),
                "next": "https://api.example.com/v2/products?page=%d&per_page=%d" % (page + 1, n)}

    def message(self):
        r = self.r
        x = r.random()
        if x < 0.18:
            return self.ticker()
        if x < 0.32:
            return self.presence()
        if x < 0.52:
            return self.chat()
        if x < 0.62:
            return self.notification()
        if x < 0.78:
            return self.telemetry(r.randint(2, 40))
        if x < 0.90:
            return self.book(r.choice([5, 10, 20, 50]))
        return self.listing(r.choice([1, 3, 10, 25, 50]))


def corpus(n=1000, seed=1):
    """n JSON messages (bytes), the same for the same n and seed."""
    g = _Gen(seed)
    return [_dumps(g.message()) for _ in range(n)]


def sized_message(size, seed=0):
    """One valid JSON document of exactly ``size`` bytes (size >= 64):
    a listing response for large sizes, a chat message for small ones,
    padded to size with words (its ``note``, or a chat's ``text``)."""
    g = _Gen(seed)
    if size >= 1024:
        n = 1
        while len(_dumps(_Gen(seed).listing(n + 1))) <= size - 40:
            n += 1
        g = _Gen(seed)
        obj = g.listing(n)
    else:
        obj = g.chat()
        obj = {"type": "message", "id": obj["id"], "channel": obj["channel"],
               "user": {"id": obj["user"]["id"], "name": obj["user"]["name"]},
               "ts": obj["ts"], "text": ""}
    obj["note" if size >= 1024 else "text"] = ""
    room = size - len(_dumps(obj))
    if room < 0:
        raise ValueError("size too small")
    text = ""
    while len(text) < room:
        text += g.r.choice(WORDS) + " "
    obj["note" if size >= 1024 else "text"] = text[:room]
    out = _dumps(obj)
    assert len(out) == size, (len(out), size)
    return out


def sized_messages(size, count, seed=0):
    """count distinct documents of exactly size bytes (distinct seeds)."""
    return [sized_message(size, seed + i) for i in range(count)]


if __name__ == "__main__":
    msgs = corpus()
    sizes = sorted(len(m) for m in msgs)
    total = sum(sizes)
    print("%d messages, %d bytes; median %d B, p90 %d B, max %d B" % (
        len(msgs), total, sizes[len(sizes) // 2], sizes[len(sizes) * 9 // 10], sizes[-1]))
    for lo, hi in ((0, 512), (512, 4096), (4096, 1 << 30)):
        k = sum(lo <= s < hi for s in sizes)
        print("  %6d - %-6s B: %4d messages" % (lo, hi if hi < 1 << 30 else "", k))
    print(msgs[0].decode()[:200])
