/* prom.c — writing the Prometheus text exposition format 0.0.4. */
#include "util/prom.h"

#define PROM_NAME_MAX 128

static const char *type_name(enum prom_type type)
{
	switch (type) {
	case PROM_COUNTER:
		return "counter";
	case PROM_GAUGE:
		return "gauge";
	case PROM_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

void prom_family(struct strbuf *sb, const char *name, enum prom_type type, const char *help)
{
	strbuf_adds(sb, "# HELP ");
	strbuf_adds(sb, name);
	strbuf_adds(sb, " ");
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			strbuf_adds(sb, "\\\\");
		else if (*p == '\n')
			strbuf_adds(sb, "\\n");
		else
			strbuf_add(sb, p, 1);
	}
	strbuf_adds(sb, "\n# TYPE ");
	strbuf_adds(sb, name);
	strbuf_adds(sb, " ");
	strbuf_adds(sb, type_name(type));
	strbuf_adds(sb, "\n");
}

/* Appends the N bytes at P; nothing at all when N is 0 (an empty buffer
 * has no data pointer to copy to). */
static void add_run(struct strbuf *sb, const char *p, size_t n)
{
	if (n)
		strbuf_add(sb, p, n);
}

void prom_add_label_value(struct strbuf *sb, const char *value)
{
	const char *run = value, *p;

	for (p = value; *p; p++) {
		const char *esc = *p == '\\' ? "\\\\" :
				  *p == '"'  ? "\\\"" :
				  *p == '\n' ? "\\n" :
					       NULL;
		if (!esc)
			continue;
		add_run(sb, run, (size_t)(p - run));
		strbuf_adds(sb, esc);
		run = p + 1;
	}
	add_run(sb, run, (size_t)(p - run));
}

/* US in seconds into BUF (at least 28 bytes), NUL-terminated; the length. */
static size_t seconds_text(char *buf, uint64_t us)
{
	char tmp[20];
	size_t n = 0, i = sizeof(tmp);
	uint64_t whole = us / 1000000, f = us % 1000000;

	do {
		tmp[--i] = (char)('0' + whole % 10);
		whole /= 10;
	} while (whole);
	memcpy(buf, tmp + i, sizeof(tmp) - i);
	n = sizeof(tmp) - i;
	if (f) {
		int digits = 6;
		buf[n++] = '.';
		for (int d = 5; d >= 0; d--) {
			buf[n + (size_t)d] = (char)('0' + f % 10);
			f /= 10;
		}
		while (buf[n + (size_t)digits - 1] == '0')
			digits--;
		n += (size_t)digits;
	}
	buf[n] = '\0';
	return n;
}

void prom_add_seconds(struct strbuf *sb, uint64_t us)
{
	char buf[32];
	size_t n = seconds_text(buf, us);

	strbuf_add(sb, buf, n);
}

/* NAME{LABELS[,le="LE"]} and the space before the value. */
static void sample_head(struct strbuf *sb, const char *name, const struct prom_label *labels,
			size_t nlabels, const char *le)
{
	strbuf_adds(sb, name);
	if (nlabels || le) {
		strbuf_adds(sb, "{");
		for (size_t i = 0; i < nlabels; i++) {
			if (i)
				strbuf_adds(sb, ",");
			strbuf_adds(sb, labels[i].name);
			strbuf_adds(sb, "=\"");
			prom_add_label_value(sb, labels[i].value);
			strbuf_adds(sb, "\"");
		}
		if (le) {
			strbuf_adds(sb, nlabels ? ",le=\"" : "le=\"");
			strbuf_adds(sb, le);
			strbuf_adds(sb, "\"");
		}
		strbuf_adds(sb, "}");
	}
	strbuf_adds(sb, " ");
}

void prom_sample(struct strbuf *sb, const char *name, const struct prom_label *labels,
		 size_t nlabels, uint64_t value)
{
	sample_head(sb, name, labels, nlabels, NULL);
	strbuf_add_u64(sb, value);
	strbuf_adds(sb, "\n");
}

void prom_sample_seconds(struct strbuf *sb, const char *name, const struct prom_label *labels,
			 size_t nlabels, uint64_t us)
{
	sample_head(sb, name, labels, nlabels, NULL);
	prom_add_seconds(sb, us);
	strbuf_adds(sb, "\n");
}

/* NAME followed by SUFFIX, in BUF (names are short constants). */
static const char *suffixed(char *buf, size_t len, const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	if (n + m >= len)
		n = len - m - 1;
	memcpy(buf, name, n);
	memcpy(buf + n, suffix, m + 1);
	return buf;
}

void prom_histogram(struct strbuf *sb, const char *name, const struct prom_label *labels,
		    size_t nlabels, const uint64_t *bounds_us, size_t nbounds,
		    const uint64_t *buckets, uint64_t sum_us)
{
	char sample[PROM_NAME_MAX];
	uint64_t cumulative = 0;

	suffixed(sample, sizeof(sample), name, "_bucket");
	for (size_t i = 0; i <= nbounds; i++) {
		char le[32] = "+Inf";
		cumulative += buckets[i];
		if (i < nbounds)
			seconds_text(le, bounds_us[i]);
		sample_head(sb, sample, labels, nlabels, le);
		strbuf_add_u64(sb, cumulative);
		strbuf_adds(sb, "\n");
	}
	prom_sample_seconds(sb, suffixed(sample, sizeof(sample), name, "_sum"), labels, nlabels,
			    sum_us);
	prom_sample(sb, suffixed(sample, sizeof(sample), name, "_count"), labels, nlabels,
		    cumulative);
}
