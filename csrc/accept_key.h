/* Sec-WebSocket-Accept (RFC 6455 section 4.2.2): base64(SHA-1(key + GUID)).
 * Pure C99 (no Python headers); SHA-1 here serves only this derivation (it is
 * not a general-purpose or security hash API). */
#ifndef WSFAST_ACCEPT_KEY_H
#define WSFAST_ACCEPT_KEY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of an accept value: base64 of a 20-byte digest. */
#define WSF_ACCEPT_LEN 28

/* Writes the accept value for key[0..key_len) into out (WSF_ACCEPT_LEN
 * bytes, no terminator). key_len is at most 64 (a valid key has 24);
 * returns 0, or -1 for a longer key, writing nothing. */
int wsf_accept_key(const uint8_t *key, size_t key_len, uint8_t *out);

/* SHA-1 of data[0..len) into digest (20 bytes): with the CPU's SHA
 * instructions where there are (x86), else portable C. */
void wsf_sha1(const uint8_t *data, size_t len, uint8_t digest[20]);

/* The same with the portable code only (for testing one against the other). */
void wsf_sha1_portable(const uint8_t *data, size_t len, uint8_t digest[20]);

#ifdef __cplusplus
}
#endif
#endif
