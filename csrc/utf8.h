/* Strict, incremental, fail-fast UTF-8 validation (RFC 3629; RFC 6455
 * section 8.1). Pure C99. */
#ifndef WSFAST_UTF8_H
#define WSFAST_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* State carried across fragments. Zero-initialise (or wsf_utf8_reset). */
typedef struct {
    uint8_t state;  /* 0 = at a code point boundary; see utf8.c */
} wsf_utf8;

#define WSF_UTF8_INVALID 0
#define WSF_UTF8_VALID 1   /* every byte so far is valid, sequence complete */
#define WSF_UTF8_PARTIAL 2 /* valid so far, but a sequence is unfinished */

/* Feeds n more bytes. Returns WSF_UTF8_INVALID as soon as the bytes seen
 * so far can no longer start valid UTF-8 (no surrogates, no overlongs,
 * nothing above U+10FFFF); the state then stays invalid. */
int wsf_utf8_feed(wsf_utf8 *st, const uint8_t *p, size_t n);

void wsf_utf8_reset(wsf_utf8 *st);

/* One shot: 1 if p[0..n) is complete, valid UTF-8. */
int wsf_utf8_valid(const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
