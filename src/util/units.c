/* units.c — durations and sizes as written in lbd.yaml.
 *
 * Both parsers accept digits followed by a unit and nothing else: no sign,
 * no spaces, no fractions. Values are checked against the maximum before
 * they are multiplied, so no input can overflow.
 */
#include "util/units.h"

#include <stdio.h>
#include <string.h>

/* Parse the leading decimal digits of S into *OUT, refusing anything above
 * MAX. Returns the number of digits read, or 0 (no digits, or too large). */
static size_t parse_digits(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return i;
}

struct unit {
	const char *suffix;
	uint64_t factor;
};

static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 3600 * 1000 },
	{ "d", 24 * 3600 * 1000 },
};

static const struct unit size_units[] = {
	{ "", 1 },           { "k", 1ULL << 10 }, { "K", 1ULL << 10 }, { "m", 1ULL << 20 },
	{ "M", 1ULL << 20 }, { "g", 1ULL << 30 }, { "G", 1ULL << 30 },
};

static int parse_with_units(const char *s, const struct unit *units, size_t nunits, uint64_t max,
			    uint64_t *out)
{
	uint64_t v;
	size_t n;

	if (!s)
		return -1;
	n = parse_digits(s, max, &v);
	if (n == 0)
		return -1;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(s + n, units[i].suffix) != 0)
			continue;
		if (v > max / units[i].factor)
			return -1;
		*out = v * units[i].factor;
		return 0;
	}
	return -1;
}

int parse_duration_ms(const char *s, uint64_t *out_ms)
{
	return parse_with_units(s, duration_units,
				sizeof(duration_units) / sizeof(duration_units[0]), DURATION_MAX_MS,
				out_ms);
}

int parse_size(const char *s, uint64_t *out_bytes)
{
	return parse_with_units(s, size_units, sizeof(size_units) / sizeof(size_units[0]),
				SIZE_MAX_BYTES, out_bytes);
}

void format_duration(uint64_t ms, char *buf, size_t len)
{
	size_t i = sizeof(duration_units) / sizeof(duration_units[0]);

	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	/* The largest unit that divides MS exactly: 90000 is "90s", not "1.5m". */
	while (--i > 0 && ms % duration_units[i].factor != 0)
		;
	snprintf(buf, len, "%llu%s", (unsigned long long)(ms / duration_units[i].factor),
		 duration_units[i].suffix);
}
