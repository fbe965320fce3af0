/* tls_sni.h — which certificate of a TLS listener answers a server name.
 *
 * Each certificate contributes the DNS names of its subjectAltName (or its
 * subject CN when it has none). A client's SNI name picks the certificate
 * holding it exactly, else one holding the wildcard that covers its first
 * label ("*.example.com" covers "a.example.com", neither "example.com" nor
 * "a.b.example.com"); otherwise, and without SNI, the first certificate.
 * When several certificates hold a name, the first one listed wins.
 */
#ifndef LBD_TLS_SNI_H
#define LBD_TLS_SNI_H

#include <stddef.h>

#define TLS_SNI_NAME_MAX 253

struct tls_sni_entry {
	char *name;   /* lowercase, no trailing dot */
	size_t index; /* the certificate's position in the list */
};

struct tls_sni {
	struct tls_sni_entry *v;
	size_t n, cap;
};

/* Record that certificate INDEX holds NAME (a DNS name or "*.suffix").
 * Names that cannot match anything (other wildcard forms, empty, too long)
 * are skipped. Returns 0, or -1 when out of memory. */
int tls_sni_add(struct tls_sni *t, const char *name, size_t len, size_t index);

/* Sort the names once all were added; lookups need it. */
void tls_sni_finish(struct tls_sni *t);

/* The certificate for SERVERNAME (NULL: no SNI): 0 when none holds it. */
size_t tls_sni_pick(const struct tls_sni *t, const char *servername);

void tls_sni_free(struct tls_sni *t);

#endif
