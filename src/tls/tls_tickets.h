/* tls_tickets.h — session-ticket keys shared by every worker thread and
 * every configuration generation of the process.
 *
 * Keys rotate each TLS_TICKET_PERIOD_S. The key of a period is derived from
 * a random secret drawn once per process (HMAC over the period's number),
 * so all threads agree on it without sharing any mutable state or taking a
 * lock, and a reload, which builds new SSL_CTXs, keeps resuming the
 * sessions of the old ones. Tickets are issued with the current period's
 * key and accepted with it or the previous one (and then renewed), so a
 * ticket lives between one and two periods.
 */
#ifndef LBD_TLS_TICKETS_H
#define LBD_TLS_TICKETS_H

#include <stdint.h>

#include <openssl/ssl.h>

#define TLS_TICKET_PERIOD_S 3600

struct tls_ticket_key {
	uint64_t period;
	unsigned char name[16];
	unsigned char aes[32]; /* AES-256-CBC */
	unsigned char mac[32]; /* HMAC-SHA256 */
};

/* Draw the process secret (once; later calls do nothing). Returns 0, or -1
 * when the random generator fails. */
int tls_tickets_init(void);

/* A binary upgrade carries the secret to the new process, so that the
 * tickets the old one issued still resume there. Export copies it into
 * OUT (drawing it first if need be); adopt replaces this process's with
 * IN, and must run before any worker thread handshakes. Both return 0 or
 * -1. */
#define TLS_TICKET_SECRET_LEN 32
int tls_tickets_export(unsigned char out[TLS_TICKET_SECRET_LEN]);
int tls_tickets_adopt(const unsigned char in[TLS_TICKET_SECRET_LEN]);

/* The key of PERIOD. Returns 0 or -1. */
int tls_ticket_key(uint64_t period, struct tls_ticket_key *out);

/* The key named NAME if it is NOW's period's (returns 1) or the previous
 * one's (returns 2: the ticket should be renewed); 0 when it is neither. */
int tls_ticket_find(const unsigned char name[16], uint64_t now, struct tls_ticket_key *out);

/* Issue and accept tickets on CTX with these keys. Returns 0 or -1. */
int tls_tickets_attach(SSL_CTX *ctx);

#endif
