/* json.h — the little JSON lbd and lbctl need: writing strings escaped, and
 * reading the top-level members of a small object (the admin API's
 * answers) without a general-purpose parser.
 *
 * The reader never reads past the NUL that ends the document and treats
 * anything malformed as absent.
 */
#ifndef LBD_UTIL_JSON_H
#define LBD_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Append S as a JSON string, quotes included. Bytes that are not valid
 * UTF-8 become U+FFFD so the output is always valid JSON. */
void json_add_string(struct strbuf *sb, const char *s);

/* The value of member KEY of the top-level object DOC, or NULL when DOC is
 * not an object or has no such member. */
const char *json_member(const char *doc, const char *key);

/* Decode the string at P into OUT (NUL-terminated, truncated to OUTLEN).
 * Returns the position after it, or NULL when P is not a valid string. */
const char *json_string(const char *p, char *out, size_t outlen);

/* An unsigned integer at P; returns the position after it, or NULL. */
const char *json_u64(const char *p, uint64_t *out);

/* The position after the value at P (any type), or NULL when malformed. */
const char *json_skip(const char *p);

/* Elements of the array at P: *IT starts NULL; each call sets it to the
 * next element's start and returns true, false at the end or on error. */
bool json_array_next(const char *p, const char **it);

/* Members of the object at P, likewise: *IT is set to each member's key (a
 * string; the value follows its colon). A duplicate key is seen twice. */
bool json_object_next(const char *p, const char **it);

/* Whether the key at IT (from json_object_next) is KEY. */
bool json_key_is(const char *it, const char *key);

#endif
