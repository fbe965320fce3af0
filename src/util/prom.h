/* prom.h — the Prometheus text exposition format, version 0.0.4: family
 * headers (# HELP, # TYPE), samples with escaped label values, and
 * cumulative histograms. What the metrics are is metrics.c's business.
 *
 * Names are the caller's constants and are not checked; label values and
 * help texts may hold anything and are escaped (\\, \" and \n in label
 * values; \\ and \n in help texts).
 */
#ifndef LBD_UTIL_PROM_H
#define LBD_UTIL_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
};

struct prom_label {
	const char *name;
	const char *value;
};

/* "# HELP NAME HELP" and "# TYPE NAME TYPE": once per family, before its
 * samples. A counter's NAME ends in _total; a histogram's is the base name
 * of its _bucket, _sum and _count samples. */
void prom_family(struct strbuf *sb, const char *name, enum prom_type type, const char *help);

/* One sample line: NAME{LABELS} VALUE (no braces without labels). */
void prom_sample(struct strbuf *sb, const char *name, const struct prom_label *labels,
		 size_t nlabels, uint64_t value);

/* The same with a value in microseconds, written in seconds. */
void prom_sample_seconds(struct strbuf *sb, const char *name, const struct prom_label *labels,
			 size_t nlabels, uint64_t us);

/* The samples of one histogram: BUCKETS holds NBOUNDS + 1 non-cumulative
 * counts (the last above every bound), BOUNDS_US the upper bounds in
 * microseconds, ascending. Writes NAME_bucket{LABELS,le="..."} cumulatively
 * up to le="+Inf", then NAME_sum (seconds) and NAME_count, which equals
 * the +Inf bucket. */
void prom_histogram(struct strbuf *sb, const char *name, const struct prom_label *labels,
		    size_t nlabels, const uint64_t *bounds_us, size_t nbounds,
		    const uint64_t *buckets, uint64_t sum_us);

/* A label value between the quotes, escaped. */
void prom_add_label_value(struct strbuf *sb, const char *value);

/* Microseconds as seconds, shortest exact form: 2500 -> "0.0025",
 * 1000000 -> "1". */
void prom_add_seconds(struct strbuf *sb, uint64_t us);

#endif
