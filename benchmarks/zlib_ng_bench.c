/* Stock zlib against zlib-ng's native API (zng_*), per message, the way
 * wsfast's permessage-deflate uses them (csrc/deflate.c): raw deflate at
 * the negotiated window bits, wsfast's memLevel, one stream per direction
 * kept across messages (context takeover, the state "adaptive" holds
 * while a connection is busy), a sync flush per message with the
 * 00 00 ff ff tail cut, and the tail put back before inflating.
 *
 * zlib.h and zlib-ng.h cannot be included together, so this file is
 * compiled three times and linked: with -DBENCH_LIB=0 (stock zlib's half),
 * -DBENCH_LIB=1 (zlib-ng's) and without (main). bench_zlib_ng_c.py does
 * that, writes the corpus and runs callgrind; by hand:
 *   cc -O2 -c -DBENCH_LIB=0 zlib_ng_bench.c -o lz.o
 *   cc -O2 -c -DBENCH_LIB=1 -I<zlib-ng build> zlib_ng_bench.c -o ng.o
 *   cc -O2 -c zlib_ng_bench.c -o main.o
 *   cc -o zbench main.o lz.o ng.o <libz-ng.a> -lz
 *   zbench CORPUS time LEVEL WBITS MEMLEVEL N ROUNDS
 *   zbench CORPUS check LEVEL WBITS MEMLEVEL
 *   zbench CORPUS one zlib|zng LEVEL WBITS MEMLEVEL N     (for callgrind)
 *   zbench CORPUS primed zlib|zng LEVEL WBITS MEMLEVEL N  (a stream per
 *                                                          message)
 * CORPUS: messages as a 4-byte little-endian length then the bytes. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

/* The corpus, and compressed messages: one buffer with offsets. */
extern uint8_t **msgs;
extern size_t *lens;
extern size_t nmsgs;
typedef struct {
    uint8_t *data;
    size_t *off; /* n + 1 entries */
    size_t n, cap;
} packed;
void die(const char *why);

#if defined(BENCH_LIB)
/* One library's half: the same calls, only the names differ, as in
 * csrc/deflate.c's macro layer. */
#if BENCH_LIB == 1
#include <zlib-ng.h>
#define P(name) ng_##name
#define STREAM zng_stream
#define Z(name) zng_##name
#else
#define ZLIB_CONST
#include <zlib.h>
#define P(name) lz_##name
#define STREAM z_stream
#define Z(name) name
#endif

static const uint8_t tail[4] = {0, 0, 0xff, 0xff};

const char *P(version)(void) {
#if BENCH_LIB == 1
    return "zlib-ng " ZLIBNG_VERSION;
#else
    return "zlib " ZLIB_VERSION;
#endif
}

/* Bytes the library holds from its allocator, all its streams together. */
static size_t held;
size_t P(held)(void) { return held; }

static void *count_alloc(void *opaque, unsigned items, unsigned size) {
    size_t *p = malloc((size_t)items * size + 16);
    (void)opaque;
    if (!p)
        return NULL;
    *p = (size_t)items * size;
    held += *p;
    return (char *)p + 16;
}

static void count_free(void *opaque, void *ptr) {
    size_t *p = (size_t *)((char *)ptr - 16);
    (void)opaque;
    held -= *p;
    free(p);
}

void *P(deflate_new)(int level, int wbits, int mem) {
    STREAM *zs = calloc(1, sizeof *zs);
    if (zs) {
        zs->zalloc = count_alloc;
        zs->zfree = count_free;
    }
    if (!zs || Z(deflateInit2)(zs, level, Z_DEFLATED, -wbits, mem,
                               Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
    return zs;
}

void *P(inflate_new)(int wbits) {
    STREAM *zs = calloc(1, sizeof *zs);
    if (zs) {
        zs->zalloc = count_alloc;
        zs->zfree = count_free;
    }
    if (!zs || Z(inflateInit2)(zs, -wbits) != Z_OK)
        die("inflateInit2 failed");
    return zs;
}

void P(deflate_free)(void *s) {
    Z(deflateEnd)((STREAM *)s);
    free(s);
}

void P(inflate_free)(void *s) {
    Z(inflateEnd)((STREAM *)s);
    free(s);
}

/* Messages 0..n-1 of the corpus (cycled) into p, one sync flush each. */
NOINLINE void P(compress)(void *s, packed *p, size_t n) {
    STREAM *zs = (STREAM *)s;
    size_t k;
    for (k = 0; k < n; k++) {
        size_t at = p->off[k], made;
        zs->next_in = msgs[k % nmsgs];
        zs->avail_in = (uint32_t)lens[k % nmsgs];
        zs->next_out = p->data + at;
        zs->avail_out = (uint32_t)(p->cap - at);
        if (Z(deflate)(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in)
            die("deflate failed");
        made = p->cap - at - zs->avail_out;
        if (made < 4 || memcmp(p->data + at + made - 4, tail, 4))
            die("no sync flush tail");
        p->off[k + 1] = at + made - 4;
    }
    p->n = n;
}

/* "window" mode, and an "adaptive" connection's first message after it
 * was parked: a new stream per message, primed with the last 2^wbits
 * bytes of plaintext, freed after the message. Same output as compress. */
NOINLINE void P(compress_primed)(int level, int wbits, int mem, packed *p,
                                 size_t n) {
    size_t w = (size_t)1 << wbits, hlen = 0, k;
    uint8_t *hist = malloc(w);
    for (k = 0; k < n; k++) {
        const uint8_t *in = msgs[k % nmsgs];
        size_t len = lens[k % nmsgs], at = p->off[k], made, keep;
        STREAM *zs = P(deflate_new)(level, wbits, mem);
        if (hlen && Z(deflateSetDictionary)(zs, hist, (uint32_t)hlen) != Z_OK)
            die("deflateSetDictionary failed");
        zs->next_in = in;
        zs->avail_in = (uint32_t)len;
        zs->next_out = p->data + at;
        zs->avail_out = (uint32_t)(p->cap - at);
        if (Z(deflate)(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in)
            die("deflate failed");
        made = p->cap - at - zs->avail_out;
        p->off[k + 1] = at + made - 4;
        P(deflate_free)(zs);
        if (len >= w) {
            memcpy(hist, in + len - w, w);
            hlen = w;
        } else {
            keep = hlen < w - len ? hlen : w - len;
            memmove(hist, hist + hlen - keep, keep);
            memcpy(hist + keep, in, len);
            hlen = keep + len;
        }
    }
    free(hist);
    p->n = n;
}

/* Inflates every message of p, each checked for its length, and with
 * compare for its bytes too. */
NOINLINE void P(inflate)(void *s, const packed *p, uint8_t *out, size_t cap,
                         int compare) {
    STREAM *zs = (STREAM *)s;
    size_t k;
    for (k = 0; k < p->n; k++) {
        size_t want = lens[k % nmsgs];
        int r;
        zs->next_in = p->data + p->off[k];
        zs->avail_in = (uint32_t)(p->off[k + 1] - p->off[k]);
        zs->next_out = out;
        zs->avail_out = (uint32_t)cap;
        Z(inflate)(zs, Z_SYNC_FLUSH);
        zs->next_in = tail;
        zs->avail_in = 4;
        r = Z(inflate)(zs, Z_SYNC_FLUSH);
        if ((r != Z_OK && r != Z_BUF_ERROR) || zs->avail_in ||
            cap - zs->avail_out != want)
            die("inflate failed");
        if (compare && memcmp(out, msgs[k % nmsgs], want))
            die("inflated bytes differ");
    }
}

#else /* main */

uint8_t **msgs;
size_t *lens;
size_t nmsgs;

#define LIB_DECL(P)                                                          \
    const char *P##version(void);                                            \
    size_t P##held(void);                                                    \
    void P##compress_primed(int level, int wbits, int mem, packed *p,        \
                            size_t n);                                       \
    void *P##deflate_new(int level, int wbits, int mem);                     \
    void *P##inflate_new(int wbits);                                         \
    void P##deflate_free(void *s);                                           \
    void P##inflate_free(void *s);                                           \
    void P##compress(void *s, packed *p, size_t n);                          \
    void P##inflate(void *s, const packed *p, uint8_t *out, size_t cap,      \
                    int compare);
LIB_DECL(lz_)
LIB_DECL(ng_)

typedef struct {
    const char *(*version)(void);
    size_t (*held)(void);
    void (*compress_primed)(int, int, int, packed *, size_t);
    void *(*deflate_new)(int, int, int);
    void *(*inflate_new)(int);
    void (*deflate_free)(void *);
    void (*inflate_free)(void *);
    void (*compress)(void *, packed *, size_t);
    void (*inflate)(void *, const packed *, uint8_t *, size_t, int);
} lib;
static const lib libs[2] = {
    {lz_version, lz_held, lz_compress_primed, lz_deflate_new, lz_inflate_new, lz_deflate_free,
     lz_inflate_free, lz_compress, lz_inflate},
    {ng_version, ng_held, ng_compress_primed, ng_deflate_new, ng_inflate_new, ng_deflate_free,
     ng_inflate_free, ng_compress, ng_inflate},
};

void die(const char *why) {
    fprintf(stderr, "zlib_ng_bench: %s\n", why);
    exit(1);
}

static void load(const char *path) {
    FILE *f = fopen(path, "rb");
    uint8_t h[4];
    if (!f)
        die("cannot open corpus");
    while (fread(h, 1, 4, f) == 4) {
        size_t n = h[0] | h[1] << 8 | h[2] << 16 | (size_t)h[3] << 24;
        msgs = realloc(msgs, (nmsgs + 1) * sizeof *msgs);
        lens = realloc(lens, (nmsgs + 1) * sizeof *lens);
        msgs[nmsgs] = malloc(n ? n : 1);
        if (fread(msgs[nmsgs], 1, n, f) != n)
            die("short corpus");
        lens[nmsgs++] = n;
    }
    fclose(f);
    if (!nmsgs)
        die("empty corpus");
}

static void packed_init(packed *p, size_t n) {
    size_t total = 0, k;
    for (k = 0; k < n; k++)
        total += lens[k % nmsgs] + lens[k % nmsgs] / 8 + 64;
    p->data = malloc(total);
    p->off = malloc((n + 1) * sizeof *p->off);
    p->cap = total;
    p->n = 0;
    p->off[0] = 0;
}

static void packed_free(packed *p) {
    free(p->data);
    free(p->off);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static size_t max_len(void) {
    size_t k, m = 0;
    for (k = 0; k < nmsgs; k++)
        if (lens[k] > m)
            m = lens[k];
    return m + 64;
}

/* One sample: ns per message compressing n messages on a fresh stream,
 * then ns per message inflating them; bytes per message on the wire. */
static void sample(const lib *L, int level, int wbits, int mem, size_t n,
                   double *c_ns, double *d_ns, double *bytes) {
    packed p;
    size_t cap = max_len();
    uint8_t *out = malloc(cap);
    void *d = L->deflate_new(level, wbits, mem), *i = L->inflate_new(wbits);
    double t;

    packed_init(&p, n);
    t = now_ns();
    L->compress(d, &p, n);
    *c_ns = (now_ns() - t) / n;
    t = now_ns();
    L->inflate(i, &p, out, cap, 0);
    *d_ns = (now_ns() - t) / n;
    *bytes = (double)p.off[n] / n;
    L->deflate_free(d);
    L->inflate_free(i);
    packed_free(&p);
    free(out);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(double *v, int n, double *med, double *lo, double *hi) {
    qsort(v, n, sizeof *v, cmp);
    *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    *lo = v[0];
    *hi = v[n - 1];
}

/* Each library's stream inflated by the other's (and its own), at the
 * negotiated window, every message compared byte for byte. */
static void check(int level, int wbits, int mem) {
    size_t n = 3 * nmsgs, cap = max_len();
    uint8_t *out = malloc(cap);
    int a, b;

    for (a = 0; a < 2; a++) {
        packed p;
        void *d = libs[a].deflate_new(level, wbits, mem);
        packed_init(&p, n);
        libs[a].compress(d, &p, n);
        printf("%s: a deflate stream holds %zu bytes\n", libs[a].version(),
               libs[a].held());
        {
            packed q;
            packed_init(&q, n);
            libs[a].compress_primed(level, wbits, mem, &q, n);
            printf("%s: a stream primed per message makes %s bytes\n",
                   libs[a].version(),
                   q.off[n] == p.off[n] && !memcmp(q.data, p.data, p.off[n])
                       ? "the same" : "other (still valid)");
            for (b = 0; b < 2; b++) {
                void *i = libs[b].inflate_new(wbits);
                libs[b].inflate(i, &q, out, cap, 1);
                libs[b].inflate_free(i);
            }
            packed_free(&q);
        }
        for (b = 0; b < 2; b++) {
            size_t before = libs[b].held();
            void *i = libs[b].inflate_new(wbits);
            libs[b].inflate(i, &p, out, cap, 1);
            if (a == b)
                printf("%s: an inflate stream holds %zu bytes\n",
                       libs[b].version(), libs[b].held() - before);
            libs[b].inflate_free(i);
            printf("%s -> %s: %zu messages ok\n", libs[a].version(),
                   libs[b].version(), n);
        }
        libs[a].deflate_free(d);
        packed_free(&p);
    }
    free(out);
}

int main(int argc, char **argv) {
    if (argc < 3)
        die("usage: see the top of zlib_ng_bench.c");
    load(argv[1]);
    if (!strcmp(argv[2], "check") && argc == 6) {
        check(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
        return 0;
    }
    if (!strcmp(argv[2], "primed") && argc == 8) {
        packed p;
        size_t n = (size_t)atol(argv[7]);
        const lib *L = &libs[!strcmp(argv[3], "zng")];
        double t;
        packed_init(&p, n);
        t = now_ns();
        L->compress_primed(atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), &p, n);
        printf("%s primed: %.0f ns/msg, %.1f bytes/msg\n", L->version(),
               (now_ns() - t) / n, (double)p.off[n] / n);
        packed_free(&p);
        return 0;
    }
    if (!strcmp(argv[2], "one") && argc == 8) {
        double c, d, b;
        sample(&libs[!strcmp(argv[3], "zng")], atoi(argv[4]), atoi(argv[5]),
               atoi(argv[6]), (size_t)atol(argv[7]), &c, &d, &b);
        printf("%.1f bytes/msg\n", b);
        return 0;
    }
    if (!strcmp(argv[2], "time") && argc == 8) {
        int level = atoi(argv[3]), wbits = atoi(argv[4]), mem = atoi(argv[5]);
        size_t n = (size_t)atol(argv[6]);
        int rounds = atoi(argv[7]), r, k;
        double c[2][64], d[2][64], b[2] = {0, 0};
        if (rounds < 1 || rounds > 64)
            die("rounds: 1..64");
        for (r = -1; r < rounds; r++) /* round -1 warms up */
            for (k = 0; k < 2; k++) {
                int which = (r & 1) ? 1 - k : k; /* alternate the order */
                double cc, dd, bb;
                sample(&libs[which], level, wbits, mem, n, &cc, &dd, &bb);
                if (r >= 0) {
                    c[which][r] = cc;
                    d[which][r] = dd;
                    b[which] = bb;
                }
            }
        for (k = 0; k < 2; k++) {
            double cm, cl, ch, dm, dl, dh;
            stats(c[k], rounds, &cm, &cl, &ch);
            stats(d[k], rounds, &dm, &dl, &dh);
            printf("%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\n",
                   libs[k].version(), cm, cl, ch, dm, dl, dh, b[k]);
        }
        return 0;
    }
    die("usage: see the top of zlib_ng_bench.c");
    return 1;
}
#endif
