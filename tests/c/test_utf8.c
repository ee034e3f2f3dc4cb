/* Tests of csrc/utf8.c against an independent, decode-based reference. */
#include <stdint.h>
#include "test_util.h"
#include "utf8.h"

/* Reference: decode each code point and check its range. */
static int ref_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i - 1 < need) return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

/* Expected verdict for a prefix: a truncated sequence is viable iff some
 * run of continuation bytes completes it. Only the second byte has
 * narrowed ranges (80..9F/80..8F or A0..BF/90..BF), so runs of 0x80 or
 * of 0xA0 cover every case. */
static int ref_status(const uint8_t *s, size_t n) {
    static const uint8_t fill[2] = {0x80, 0xA0};
    uint8_t buf[64];
    size_t pad, f;
    if (ref_valid(s, n)) return WSF_UTF8_VALID;
    if (n + 3 > sizeof buf) abort();
    memcpy(buf, s, n);
    for (f = 0; f < 2; f++) {
        for (pad = 1; pad <= 3; pad++) {
            buf[n + pad - 1] = fill[f];
            if (ref_valid(buf, n + pad)) return WSF_UTF8_PARTIAL;
        }
    }
    return WSF_UTF8_INVALID;
}

static int feed_once(const uint8_t *s, size_t n) {
    wsf_utf8 st;
    unsigned char *c = t_dup(s, n);
    int r;
    wsf_utf8_reset(&st);
    r = wsf_utf8_feed(&st, c, n);
    free(c);
    return r;
}

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void expect(const uint8_t *s, size_t n, int want, int line) {
    int got = feed_once(s, n);
    t_checks++;
    if (got != want) {
        t_failures++;
        fprintf(stderr, "line %d: feed -> %d, want %d\n", line, got, want);
    }
    t_checks++;
    if (wsf_utf8_valid(s, n) != (want == WSF_UTF8_VALID)) {
        t_failures++;
        fprintf(stderr, "line %d: wsf_utf8_valid disagrees\n", line);
    }
}
#define EXPECT(lit, want) expect(S(lit), want, __LINE__)

/* Fail fast: feeding only the first k bytes must already say INVALID. */
static void expect_fail_at(const uint8_t *s, size_t n, size_t k, int line) {
    int before = k > 1 ? feed_once(s, k - 1) : WSF_UTF8_VALID;
    int at = feed_once(s, k);
    t_checks++;
    if (before == WSF_UTF8_INVALID || at != WSF_UTF8_INVALID) {
        t_failures++;
        fprintf(stderr, "line %d: expected failure exactly at byte %u\n", line,
                (unsigned)k);
    }
    (void)n;
}
#define FAIL_AT(lit, k) expect_fail_at(S(lit), k, __LINE__)

static void test_table(void) {
    EXPECT("", WSF_UTF8_VALID);
    EXPECT("hello, world", WSF_UTF8_VALID);
    EXPECT("\x00\x7f", WSF_UTF8_VALID);
    /* boundaries of each length */
    EXPECT("\xc2\x80", WSF_UTF8_VALID);             /* U+0080 */
    EXPECT("\xdf\xbf", WSF_UTF8_VALID);             /* U+07FF */
    EXPECT("\xe0\xa0\x80", WSF_UTF8_VALID);         /* U+0800 */
    EXPECT("\xed\x9f\xbf", WSF_UTF8_VALID);         /* U+D7FF */
    EXPECT("\xee\x80\x80", WSF_UTF8_VALID);         /* U+E000 */
    EXPECT("\xef\xbf\xbf", WSF_UTF8_VALID);         /* U+FFFF */
    EXPECT("\xf0\x90\x80\x80", WSF_UTF8_VALID);     /* U+10000 */
    EXPECT("\xf3\xbf\xbf\xbf", WSF_UTF8_VALID);     /* U+FFFFF */
    EXPECT("\xf4\x8f\xbf\xbf", WSF_UTF8_VALID);     /* U+10FFFF */
    EXPECT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", WSF_UTF8_VALID);
    /* overlongs */
    EXPECT("\xc0\x80", WSF_UTF8_INVALID);
    EXPECT("\xc1\xbf", WSF_UTF8_INVALID);
    EXPECT("\xe0\x80\x80", WSF_UTF8_INVALID);
    EXPECT("\xe0\x9f\xbf", WSF_UTF8_INVALID);
    EXPECT("\xf0\x80\x80\x80", WSF_UTF8_INVALID);
    EXPECT("\xf0\x8f\xbf\xbf", WSF_UTF8_INVALID);
    /* surrogates */
    EXPECT("\xed\xa0\x80", WSF_UTF8_INVALID);
    EXPECT("\xed\xbf\xbf", WSF_UTF8_INVALID);
    EXPECT("\xed\xa0\x80\xed\xb0\x80", WSF_UTF8_INVALID);
    /* above U+10FFFF */
    EXPECT("\xf4\x90\x80\x80", WSF_UTF8_INVALID);
    EXPECT("\xf5\x80\x80\x80", WSF_UTF8_INVALID);
    EXPECT("\xf7\xbf\xbf\xbf", WSF_UTF8_INVALID);
    EXPECT("\xf8\x88\x80\x80\x80", WSF_UTF8_INVALID);
    EXPECT("\xfe", WSF_UTF8_INVALID);
    EXPECT("\xff", WSF_UTF8_INVALID);
    /* stray and missing continuation bytes */
    EXPECT("\x80", WSF_UTF8_INVALID);
    EXPECT("\xbf", WSF_UTF8_INVALID);
    EXPECT("a\x80z", WSF_UTF8_INVALID);
    EXPECT("\xc2\x41", WSF_UTF8_INVALID);
    EXPECT("\xe1\x80\x41", WSF_UTF8_INVALID);
    EXPECT("\xf1\x80\x80\x41", WSF_UTF8_INVALID);
    EXPECT("\xc2\x80\x80", WSF_UTF8_INVALID);
    /* truncated: partial for feed, invalid for the one-shot check */
    EXPECT("\xc2", WSF_UTF8_PARTIAL);
    EXPECT("\xe1\x80", WSF_UTF8_PARTIAL);
    EXPECT("\xf1\x80\x80", WSF_UTF8_PARTIAL);
    EXPECT("\xf4\x8f\xbf", WSF_UTF8_PARTIAL);
    EXPECT("abc\xe0", WSF_UTF8_PARTIAL);

    /* fail fast on the second byte (Autobahn 6.x) */
    FAIL_AT("\xc0\x80", 1);
    FAIL_AT("\xe0\x9f\xbf", 2);
    FAIL_AT("\xed\xa0\x80", 2);
    FAIL_AT("\xf0\x8f\xbf\xbf", 2);
    FAIL_AT("\xf4\x90\x80\x80", 2);
    FAIL_AT("\xf5\x80\x80\x80", 1);
    FAIL_AT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited", 13);
    FAIL_AT("\xe1\x80\x41", 3);
}

/* Exhaustive over 1-, 2- and 3-byte strings, then the 4-byte leads over
 * varied tails: the verdict after each byte matches the reference. The
 * state after a prefix is reused for every extension of it. */
static void test_exhaustive(void) {
    static const uint8_t tails[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                    0xA0, 0xBF, 0xC0, 0xC2, 0xFF};
    unsigned a, b, c, d;
    long bad = 0;
    uint8_t s[4];
    wsf_utf8 s1, s2, s3, s4;
    for (a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        wsf_utf8_reset(&s1);
        if (wsf_utf8_feed(&s1, s, 1) != ref_status(s, 1)) bad++;
        for (b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            s2 = s1;
            if (wsf_utf8_feed(&s2, s + 1, 1) != ref_status(s, 2)) bad++;
            for (c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                s3 = s2;
                if (wsf_utf8_feed(&s3, s + 2, 1) != ref_status(s, 3)) bad++;
                if (wsf_utf8_valid(s, 3) != ref_valid(s, 3)) bad++;
            }
            if (a < 0xF0) continue;
            for (c = 0; c < sizeof tails; c++) {
                s[2] = tails[c];
                s3 = s2;
                wsf_utf8_feed(&s3, s + 2, 1);
                for (d = 0; d < 256; d++) {
                    s[3] = (uint8_t)d;
                    s4 = s3;
                    if (wsf_utf8_feed(&s4, s + 3, 1) != ref_status(s, 4)) bad++;
                    if (wsf_utf8_valid(s, 4) != ref_valid(s, 4)) bad++;
                }
            }
        }
    }
    CHECK_EQ(bad, 0);
}

static const char *const samples[] = {
    "plain ascii text that is longer than sixteen bytes, quite a bit longer",
    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 mixed \xf0\x9f\x98\x80 text",
    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
    "ascii ascii ascii ascii \xed\xa0\x80 then more ascii ascii ascii",
    "0123456789abcdef0123456789abcdef\xc3",
    "\xf4\x8f\xbf\xbf\xf0\x90\x80\x80\xc2\x80\xdf\xbf\xe0\xa0\x80",
    "0123456789abcdef\xf4\x90\x80\x80",
    "\xc2\xa9 0123456789abcdef0123456789abcdef 0123456789abcdef\xe1\x80",
    "\x80 leading continuation",
};

/* Splitting at every point (into two and three pieces) gives the same
 * verdict as feeding the string whole. */
static void test_splits(void) {
    size_t k;
    for (k = 0; k < sizeof samples / sizeof *samples; k++) {
        const uint8_t *s = (const uint8_t *)samples[k];
        size_t n = strlen(samples[k]), i, j;
        int whole = feed_once(s, n);
        CHECK_EQ(whole, ref_status(s, n));
        for (i = 0; i <= n; i++) {
            for (j = i; j <= n; j++) {
                wsf_utf8 st;
                unsigned char *a = t_dup(s, i), *b = t_dup(s + i, j - i),
                              *c = t_dup(s + j, n - j);
                int r;
                wsf_utf8_reset(&st);
                r = wsf_utf8_feed(&st, a, i);
                if (r != WSF_UTF8_INVALID) r = wsf_utf8_feed(&st, b, j - i);
                else CHECK_EQ(wsf_utf8_feed(&st, b, j - i), WSF_UTF8_INVALID);
                r = wsf_utf8_feed(&st, c, n - j);
                CHECK_EQ(r, whole);
                free(a);
                free(b);
                free(c);
            }
        }
    }
}

/* An offending byte at each position of ASCII runs of many lengths, so it
 * lands in each lane of the 16-byte skip and in the byte-wise tail; also
 * with the run starting after a multi-byte character and at an odd
 * offset. */
static void test_ascii_fast_path(void) {
    size_t n, k, lead;
    long bad = 0;
    for (lead = 0; lead < 3; lead++) {
        for (n = 1; n <= 80; n++) {
            for (k = 0; k < n; k++) {
                uint8_t buf[96];
                unsigned char *c;
                size_t i, off = lead == 2 ? 3 : 0;
                for (i = 0; i < n; i++) buf[i] = (uint8_t)('a' + i % 26);
                if (lead == 1 && n >= 2 && k >= 2) { buf[0] = 0xC3; buf[1] = 0xA9; }
                /* invalid byte */
                buf[k] = 0xFF;
                c = t_dup(buf, n);
                if (wsf_utf8_valid(c + (off < k ? off : 0), n - (off < k ? off : 0)) != 0) bad++;
                if (feed_once(buf, n) != WSF_UTF8_INVALID) bad++;
                free(c);
                /* lone continuation byte */
                buf[k] = 0x80;
                if (feed_once(buf, n) != WSF_UTF8_INVALID) bad++;
                /* a truncated lead at the very end is partial */
                if (k == n - 1) {
                    buf[k] = 0xE2;
                    if (feed_once(buf, n) != WSF_UTF8_PARTIAL) bad++;
                }
                /* and a valid character there keeps it valid */
                if (k + 1 < n) {
                    buf[k] = 0xC3;
                    buf[k + 1] = 0xA9;
                    if (feed_once(buf, n) != WSF_UTF8_VALID) bad++;
                    if (!ref_valid(buf, n)) bad++;
                }
            }
        }
    }
    CHECK_EQ(bad, 0);
    {
        /* A long valid ASCII buffer, fed from every start offset. */
        uint8_t big[1000];
        unsigned char *c;
        size_t i;
        for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(' ' + i % 90);
        c = t_dup(big, sizeof big);
        for (i = 0; i <= sizeof big; i++)
            if (!wsf_utf8_valid(c + i, sizeof big - i)) bad++;
        c[sizeof big - 1] = 0x80;
        for (i = 0; i < sizeof big; i++)
            if (wsf_utf8_valid(c + i, sizeof big - i)) bad++;
        free(c);
        CHECK_EQ(bad, 0);
    }
}

static void test_sticky_and_reset(void) {
    wsf_utf8 st;
    memset(&st, 0, sizeof st); /* zero-initialised is a valid start */
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"ok", 2), WSF_UTF8_VALID);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"\xe2\x82", 2), WSF_UTF8_PARTIAL);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"", 0), WSF_UTF8_PARTIAL);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"\xac", 1), WSF_UTF8_VALID);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"\xff", 1), WSF_UTF8_INVALID);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"fine", 4), WSF_UTF8_INVALID);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"", 0), WSF_UTF8_INVALID);
    wsf_utf8_reset(&st);
    CHECK_EQ(st.state, 0);
    CHECK_EQ(wsf_utf8_feed(&st, (const uint8_t *)"fine", 4), WSF_UTF8_VALID);
    CHECK_EQ(wsf_utf8_feed(&st, NULL, 0), WSF_UTF8_VALID);
    CHECK(wsf_utf8_valid(NULL, 0));
}

int main(void) {
    test_table();
    test_exhaustive();
    test_splits();
    test_ascii_fast_path();
    test_sticky_and_reset();
    return t_report("test_utf8");
}
