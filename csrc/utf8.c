/* Strict incremental UTF-8 validation.
 *
 * A DFA over 12 byte classes. Each state says what the next byte must be;
 * the special second-byte ranges of E0, ED, F0 and F4 get their own states
 * so that overlongs, surrogates and code points above U+10FFFF fail on the
 * second byte rather than at the end of the sequence. States are stored
 * pre-multiplied by the number of classes, so a step is one table load. */
#include <string.h>
#include "utf8.h"

enum {
    C_ASCII,  /* 00..7F */
    C_CONT0,  /* 80..8F */
    C_CONT1,  /* 90..9F */
    C_CONT2,  /* A0..BF */
    C_BAD,    /* C0, C1 (overlong), F5..FF (beyond U+10FFFF) */
    C_L2,     /* C2..DF */
    C_E0,     /* E0: second byte A0..BF */
    C_L3,     /* E1..EC, EE, EF */
    C_ED,     /* ED: second byte 80..9F (no surrogates) */
    C_F0,     /* F0: second byte 90..BF */
    C_L4,     /* F1..F3 */
    C_F4,     /* F4: second byte 80..8F */
    NCLASS
};

enum {
    S_ACCEPT = 0 * NCLASS, /* at a code point boundary (must stay 0) */
    S_REJECT = 1 * NCLASS,
    S_NEED1 = 2 * NCLASS,  /* one continuation byte left */
    S_NEED2 = 3 * NCLASS,
    S_E0 = 4 * NCLASS,
    S_ED = 5 * NCLASS,
    S_NEED3 = 6 * NCLASS,
    S_F0 = 7 * NCLASS,
    S_F4 = 8 * NCLASS
};

#define R S_REJECT
static const uint8_t next_state[9 * NCLASS] = {
    /* ASCII   80-8F    90-9F    A0-BF    bad  L2       E0    L3       ED    F0    L4       F4 */
    S_ACCEPT, R,       R,       R,       R,   S_NEED1, S_E0, S_NEED2, S_ED, S_F0, S_NEED3, S_F4, /* ACCEPT */
    R,        R,       R,       R,       R,   R,       R,    R,       R,    R,    R,       R,    /* REJECT */
    R,        S_ACCEPT, S_ACCEPT, S_ACCEPT, R, R,      R,    R,       R,    R,    R,       R,    /* NEED1 */
    R,        S_NEED1, S_NEED1, S_NEED1, R,   R,       R,    R,       R,    R,    R,       R,    /* NEED2 */
    R,        R,       R,       S_NEED1, R,   R,       R,    R,       R,    R,    R,       R,    /* E0 */
    R,        S_NEED1, S_NEED1, R,       R,   R,       R,    R,       R,    R,    R,       R,    /* ED */
    R,        S_NEED2, S_NEED2, S_NEED2, R,   R,       R,    R,       R,    R,    R,       R,    /* NEED3 */
    R,        R,       S_NEED2, S_NEED2, R,   R,       R,    R,       R,    R,    R,       R,    /* F0 */
    R,        S_NEED2, R,       R,       R,   R,       R,    R,       R,    R,    R,       R,    /* F4 */
};
#undef R

#define X16(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c
static const uint8_t byte_class[256] = {
    X16(C_ASCII), X16(C_ASCII), X16(C_ASCII), X16(C_ASCII), /* 00..3F */
    X16(C_ASCII), X16(C_ASCII), X16(C_ASCII), X16(C_ASCII), /* 40..7F */
    X16(C_CONT0),                                           /* 80..8F */
    X16(C_CONT1),                                           /* 90..9F */
    X16(C_CONT2), X16(C_CONT2),                             /* A0..BF */
    C_BAD, C_BAD, C_L2, C_L2, C_L2, C_L2, C_L2, C_L2,       /* C0..C7 */
    C_L2, C_L2, C_L2, C_L2, C_L2, C_L2, C_L2, C_L2,         /* C8..CF */
    X16(C_L2),                                              /* D0..DF */
    C_E0, C_L3, C_L3, C_L3, C_L3, C_L3, C_L3, C_L3,         /* E0..E7 */
    C_L3, C_L3, C_L3, C_L3, C_L3, C_ED, C_L3, C_L3,         /* E8..EF */
    C_F0, C_L4, C_L4, C_L4, C_F4, C_BAD, C_BAD, C_BAD,      /* F0..F7 */
    C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, /* F8..FF */
};
#undef X16

/* 1 if the 16 bytes at p are all ASCII. memcpy keeps unaligned loads
 * portable; compilers turn it into two plain loads. */
static int ascii16(const uint8_t *p) {
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return ((a | b) & UINT64_C(0x8080808080808080)) == 0;
}

static int ascii8(const uint8_t *p) {
    uint64_t a;
    memcpy(&a, p, 8);
    return (a & UINT64_C(0x8080808080808080)) == 0;
}

int wsf_utf8_feed(wsf_utf8 *st, const uint8_t *p, size_t n) {
    unsigned s = st->state;
    size_t i = 0;

    if (s == S_REJECT)
        return WSF_UTF8_INVALID;
    while (i < n) {
        unsigned c = p[i];
        if (s == S_ACCEPT && c < 0x80) {
            /* Only try the wide skip once an ASCII byte has been seen, so
             * text dense in multi-byte sequences pays nothing for it. */
            i++;
            while (n - i >= 16 && ascii16(p + i))
                i += 16;
            /* A short rest (all of a small frame): check it with words
             * that end at p + n and so stay inside the buffer. Only when
             * fewer than 16 bytes are left, so the words cover all of
             * p[i..n): 8 <= n < 16 needs p[i..i+8) and p[n-8..n). */
            if (n - i > 0 && n - i < 16) {
                int ok = 0;
                if (n >= 16)
                    ok = ascii16(p + n - 16);
                else if (n >= 8)
                    ok = ascii8(p + n - 8) && (n - i <= 8 || ascii8(p + i));
                if (ok) {
                    i = n;
                    continue;
                }
            }
            while (i < n && p[i] < 0x80)
                i++;
            continue;
        }
        s = next_state[s + byte_class[c]];
        i++;
        if (s == S_REJECT) {
            st->state = (uint8_t)s;
            return WSF_UTF8_INVALID;
        }
    }
    st->state = (uint8_t)s;
    return s == S_ACCEPT ? WSF_UTF8_VALID : WSF_UTF8_PARTIAL;
}

void wsf_utf8_reset(wsf_utf8 *st) { st->state = S_ACCEPT; }

int wsf_utf8_valid(const uint8_t *p, size_t n) {
    wsf_utf8 st;
    st.state = S_ACCEPT;
    return wsf_utf8_feed(&st, p, n) == WSF_UTF8_VALID;
}
