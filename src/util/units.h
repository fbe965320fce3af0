/* units.h — durations and sizes as they are written in lbd.yaml.
 *
 * Durations carry a unit: "250ms", "2s", "5m", "1h", "1d" (a bare number is
 * an error: "30" could mean seconds or milliseconds, and a config that
 * guesses wrong fails silently). Sizes are bytes with an optional k/m/g
 * suffix (powers of 1024), upper or lower case: "16k", "1m", "512".
 */
#ifndef LBD_UTIL_UNITS_H
#define LBD_UTIL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Largest duration accepted: 30 days. Longer is surely a typo. */
#define DURATION_MAX_MS (30ULL * 24 * 3600 * 1000)
/* Largest size accepted: 1 TiB. */
#define SIZE_MAX_BYTES (1ULL << 40)

/* Parse S into milliseconds. Returns 0, or -1 when S is not a duration. */
int parse_duration_ms(const char *s, uint64_t *out_ms);

/* Parse S into bytes. Returns 0, or -1 when S is not a size. */
int parse_size(const char *s, uint64_t *out_bytes);

/* Write MS in the shortest exact unit ("1500ms", "2s", "5m") into BUF. */
void format_duration(uint64_t ms, char *buf, size_t len);

#endif
