/* status_page.h — the status page of GET / (status_page.html, made into
 * a C string at build time) and the Content-Security-Policy that lets its
 * own inline style and script run and nothing else.
 */
#ifndef LBD_STATUS_PAGE_H
#define LBD_STATUS_PAGE_H

#include <stddef.h>

/* The page, from status_page.html (status_page_html.c, generated). */
extern const char status_page_html[];
extern const size_t status_page_html_len;

/* Room for the policy: two hashes and the fixed directives. */
#define STATUS_PAGE_CSP_MAX 512

/* The Content-Security-Policy of PAGE (LEN bytes): nothing may load or run
 * but the text of its first <style> and first <script>, allowed by their
 * SHA-256, and fetches of its own origin. Writes it to OUT; returns 0, or
 * -1 when PAGE lacks either element or OUT is too small. */
int status_page_csp(const char *page, size_t len, char *out, size_t outlen);

#endif
