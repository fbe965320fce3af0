/* tls_tickets.c — deriving the ticket keys of each period, and OpenSSL's
 * ticket key callback. Each thread caches the two keys it uses. */
#include "tls/tls_tickets.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static unsigned char secret[TLS_TICKET_SECRET_LEN];
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static int secret_ok; /* written once under secret_once */

static void draw_secret(void)
{
	secret_ok = RAND_bytes(secret, sizeof(secret)) == 1;
}

int tls_tickets_init(void)
{
	pthread_once(&secret_once, draw_secret);
	return secret_ok ? 0 : -1;
}

int tls_tickets_export(unsigned char out[TLS_TICKET_SECRET_LEN])
{
	if (tls_tickets_init() < 0)
		return -1;
	memcpy(out, secret, sizeof(secret));
	return 0;
}

int tls_tickets_adopt(const unsigned char in[TLS_TICKET_SECRET_LEN])
{
	if (tls_tickets_init() < 0)
		return -1;
	memcpy(secret, in, sizeof(secret));
	return 0;
}

/* HMAC-SHA256(secret, LABEL || PERIOD) into OUT. */
static int derive(char label, uint64_t period, unsigned char out[32])
{
	unsigned char msg[9];
	unsigned int len = 32;

	msg[0] = (unsigned char)label;
	for (int i = 0; i < 8; i++)
		msg[1 + i] = (unsigned char)(period >> (8 * (7 - i)));
	return HMAC(EVP_sha256(), secret, sizeof(secret), msg, sizeof(msg), out, &len) ? 0 : -1;
}

int tls_ticket_key(uint64_t period, struct tls_ticket_key *out)
{
	unsigned char name[32];

	if (tls_tickets_init() < 0 || derive('n', period, name) < 0 ||
	    derive('a', period, out->aes) < 0 || derive('m', period, out->mac) < 0)
		return -1;
	memcpy(out->name, name, sizeof(out->name));
	out->period = period;
	return 0;
}

/* Slot 0 holds the current period's key, slot 1 the previous one's. */
static _Thread_local struct tls_ticket_key cache[2];
static _Thread_local uint64_t cache_now;
static _Thread_local int cache_ok;

static int refresh(uint64_t now)
{
	if (cache_ok && cache_now == now)
		return 0;
	cache_ok = 0;
	if (tls_ticket_key(now, &cache[0]) < 0 || tls_ticket_key(now - 1, &cache[1]) < 0)
		return -1;
	cache_now = now;
	cache_ok = 1;
	return 0;
}

int tls_ticket_find(const unsigned char name[16], uint64_t now, struct tls_ticket_key *out)
{
	if (refresh(now) < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (CRYPTO_memcmp(cache[i].name, name, sizeof(cache[i].name)) == 0) {
			*out = cache[i];
			return i + 1;
		}
	}
	return 0;
}

static uint64_t current_period(void)
{
	return (uint64_t)time(NULL) / TLS_TICKET_PERIOD_S;
}

static int set_mac_key(EVP_MAC_CTX *hctx, unsigned char *key)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/* OpenSSL's contract: 1 use the key, 2 use it and issue a new ticket, 0 no
 * such key (full handshake), -1 error. */
static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[16],
		     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_ticket_key k;
	uint64_t now = current_period();
	int found;

	(void)ssl;
	if (enc) {
		if (refresh(now) < 0 || RAND_bytes(iv, 16) != 1)
			return -1;
		k = cache[0];
		memcpy(key_name, k.name, 16);
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1 ||
		    set_mac_key(hctx, k.mac) < 0)
			return -1;
		return 1;
	}
	found = tls_ticket_find(key_name, now, &k);
	if (!found)
		return 0;
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1 ||
	    set_mac_key(hctx, k.mac) < 0)
		return -1;
	return found;
}

int tls_tickets_attach(SSL_CTX *ctx)
{
	if (tls_tickets_init() < 0)
		return -1;
	return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) == 1 ? 0 : -1;
}
