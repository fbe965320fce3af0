/* test_config_cases.h — bad configurations and the exact errors lbd prints
 * for them, in file order. Included by test_config.c only (it defines
 * LISTENERS, POOLS, VALID and struct bad_case). */

static const struct bad_case bad_cases[] = {
	/* ---- YAML level ---- */
	{ "", "bad.yaml: the file is empty" },
	{ "# only a comment\n\n", "bad.yaml: the document is empty" },
	{ "---\n...\n", "bad.yaml:2:1: the document is empty" },
	{ "global:\n\tworkers: 2\n",
	  "bad.yaml:2:1: YAML syntax error: tab character where indentation is expected (indent with spaces only)" },
	{ "global:\n  workers: 2\n log: {}\n",
	  "bad.yaml:3:2: YAML syntax error: did not find expected key (while parsing a block mapping at line 1)" },
	{ "global: [1, 2\n",
	  "bad.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 1)" },
	{ "global: \"unterminated\n",
	  "bad.yaml:2:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 1)" },
	{ "global:\n  workers: 2\n  log: {}\n  workers: 3\n" VALID,
	  "bad.yaml:4:3: global.workers: duplicate key (first at line 2)" },
	{ "global: { workers: 2, workers: 2, workers: 3 }\n" VALID,
	  "bad.yaml:1:23: global.workers: duplicate key (first at line 1)\n"
	  "bad.yaml:1:35: global.workers: duplicate key (first at line 1)" },
	{ VALID "listeners: []\n",
	  "bad.yaml:10:1: listeners: duplicate key (first at line 1)" },
	{ "global: &g { workers: 2 }\ndefaults: *g\n" VALID,
	  "bad.yaml:1:9: aliases and anchors are not supported\n"
	  "bad.yaml:2:11: aliases and anchors are not supported" },
	{ "global: { workers: &w 2 }\n" VALID,
	  "bad.yaml:1:20: aliases and anchors are not supported" },
	{ "global: { workers: !!int 2 }\n" VALID,
	  "bad.yaml:1:20: tag \"!!int\" is not supported (only !!str, !!map and !!seq)" },
	{ "global: !custom { workers: 2 }\n" VALID,
	  "bad.yaml:1:9: tag \"!custom\" is not supported (only !!str, !!map and !!seq)" },
	{ VALID "---\n" VALID,
	  "bad.yaml:10:1: a second YAML document; the file must hold exactly one" },
	{ "- a\n- b\n",
	  "bad.yaml:1:1: expected a mapping with keys global, defaults, resolvers, pools, listeners, include, got a list" },
	{ "just a string\n",
	  "bad.yaml:1:1: expected a mapping with keys global, defaults, resolvers, pools, listeners, include, got \"just a string\"" },
	{ "? [a, b]\n: 1\n" VALID,
	  "bad.yaml:1:3: a key must be a plain name, not a list" },
	{ "\"\": 1\n" VALID, "bad.yaml:1:1: a key must be a plain name, not empty" },
	{ "global: { workers: \"2\\0\" }\n" VALID,
	  "bad.yaml:1:20: NUL characters are not allowed" },

	/* ---- environment variables and include: ---- */
	{ "global:\n  workers: ${LBD_TEST_UNSET_VAR}\n" VALID,
	  "bad.yaml:2:12: global.workers: environment variable LBD_TEST_UNSET_VAR is not set (write ${LBD_TEST_UNSET_VAR:-DEFAULT} to give it a default)" },
	{ "global: { workers: \"${1X}\", max_connections: \"${A B}\" }\n" VALID,
	  "bad.yaml:1:20: global.workers: \"${1X}\": expected ${NAME} or ${NAME:-default}, NAME made of letters, digits and _\n"
	  "bad.yaml:1:46: global.max_connections: \"${A B}\": expected ${NAME} or ${NAME:-default}, NAME made of letters, digits and _" },
	{ "global:\n  workers: 2${X\n" VALID,
	  "bad.yaml:2:12: global.workers: \"${\" without its closing \"}\" (write $$ for a literal $)" },
	{ "global:\n  workers: $WORKERS\n" VALID,
	  "bad.yaml:2:12: global.workers: \"$W...\": write ${NAME} for a variable, $$ for a literal $" },
	{ "${LBD_TEST_UNSET_VAR}: 1\n" VALID,
	  "bad.yaml:1:1: ${LBD_TEST_UNSET_VAR}: unknown key (expected one of: global, defaults, resolvers, pools, listeners, include)" },
	{ "global:\n  workers: $1\n" VALID,
	  "bad.yaml:2:12: global.workers: expected auto or an integer from 1 to 256, got \"$1\"" },
	{ "include: { a: b }\n" VALID,
	  "bad.yaml:1:10: include: expected a file or a glob pattern, or a list of them, got a mapping" },
	{ "include: [ [a], \"\" ]\n" VALID,
	  "bad.yaml:1:12: include[0]: expected a file or a glob pattern, got a list\n"
	  "bad.yaml:1:17: include[1]: expected a file or a glob pattern, got \"\"" },
	{ "include: /nonexistent/lbd.d/*.yaml\ninclude: []\n" VALID,
	  "bad.yaml:2:1: include: duplicate key (first at line 1)" },

	/* ---- top level ---- */
	{ "foo: 1\n" VALID,
	  "bad.yaml:1:1: foo: unknown key (expected one of: global, defaults, resolvers, pools, listeners, include)" },
	{ "listener:\n" POOLS,
	  "bad.yaml:1:1: missing required key \"listeners\"\n"
	  "bad.yaml:1:1: listener: unknown key (did you mean \"listeners\"?)" },
	{ POOLS, "bad.yaml:1:1: missing required key \"listeners\"" },
	{ LISTENERS,
	  "bad.yaml:1:1: missing required key \"pools\"\n"
	  "bad.yaml:5:15: listeners[0].routes[0].pool: no pool named \"web\" (no pools are defined)" },
	{ "listeners: []\n" POOLS,
	  "bad.yaml:1:12: listeners: expected a non-empty list of listeners, got an empty list" },
	{ "listeners:\n" POOLS,
	  "bad.yaml:1:11: listeners: expected a non-empty list of listeners, got nothing" },
	{ "listeners: { name: web }\n" POOLS,
	  "bad.yaml:1:12: listeners: expected a non-empty list of listeners, got a mapping" },
	{ "global: 5\n" VALID,
	  "bad.yaml:1:9: global: expected a mapping with keys workers, max_connections, user, group, watch_config, shutdown_delay, state_file, admin, metrics, log, got \"5\"" },

	/* ---- global ---- */
	{ "global: { workers: 0 }\n" VALID,
	  "bad.yaml:1:20: global.workers: expected auto or an integer from 1 to 256, got \"0\"" },
	{ "global: { workers: 257 }\n" VALID,
	  "bad.yaml:1:20: global.workers: expected auto or an integer from 1 to 256, got \"257\"" },
	{ "global: { workers: many }\n" VALID,
	  "bad.yaml:1:20: global.workers: expected auto or an integer from 1 to 256, got \"many\"" },
	{ "global: { max_connections: 0 }\n" VALID,
	  "bad.yaml:1:28: global.max_connections: expected an integer from 1 to 10000000, got \"0\"" },
	{ "global: { max_connections: 10000001 }\n" VALID,
	  "bad.yaml:1:28: global.max_connections: expected an integer from 1 to 10000000, got \"10000001\"" },
	{ "global: { max_connections: 1e5 }\n" VALID,
	  "bad.yaml:1:28: global.max_connections: expected an integer from 1 to 10000000, got \"1e5\"" },
	{ "global: { max_connections: 0100 }\n" VALID,
	  "bad.yaml:1:28: global.max_connections: expected an integer from 1 to 10000000, got \"0100\"" },
	{ "global:\n  log:\n    level: verbose\n    format: text\n    access: access.log\n" VALID,
	  "bad.yaml:3:12: global.log.level: expected error, warn, info or debug, got \"verbose\"\n"
	  "bad.yaml:4:13: global.log.format: expected json or combined, got \"text\"\n"
	  "bad.yaml:5:13: global.log.access: expected stdout, off or an absolute file path, got \"access.log\"" },
	{ "global:\n  log: { acces: off }\n" VALID,
	  "bad.yaml:2:10: global.log.acces: unknown key (did you mean \"access\"?)" },
	{ "global:\n  user: no-such-user-lbd\n" VALID,
	  "bad.yaml:2:9: global.user: no user named \"no-such-user-lbd\" on this system" },
	{ "global:\n  user: \"-r\"\n" VALID,
	  "bad.yaml:2:9: global.user: expected a user name, got \"-r\"" },
	{ "global:\n  user: [lbd]\n" VALID,
	  "bad.yaml:2:9: global.user: expected a user name, got a list" },
	{ "global:\n  group: no-such-group-lbd\n" VALID,
	  "bad.yaml:2:10: global.group: no group named \"no-such-group-lbd\" on this system" },
	{ "global:\n  group: \"a b\"\n" VALID,
	  "bad.yaml:2:10: global.group: expected a group name, got \"a b\"" },
	{ "global:\n  admin: 5\n" VALID,
	  "bad.yaml:2:10: global.admin: expected a mapping with keys socket, listen, token_file, got \"5\"" },
	{ "global:\n  admin: { sockt: /run/a.sock }\n" VALID,
	  "bad.yaml:2:12: global.admin.sockt: unknown key (did you mean \"socket\"?)" },
	{ "global:\n  admin: { socket: admin.sock }\n" VALID,
	  "bad.yaml:2:20: global.admin.socket: expected an absolute path of at most 107 bytes, or off, got \"admin.sock\"" },
	{ "global:\n  admin: { socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa }\n" VALID,
	  "bad.yaml:2:20: global.admin.socket: expected an absolute path of at most 107 bytes, or off, got \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	{ "global:\n  admin: { socket: \"\" }\n" VALID,
	  "bad.yaml:2:20: global.admin.socket: expected an absolute path of at most 107 bytes, or off, got \"\"" },
	{ "global:\n  admin: { listen: unix:/run/a.sock }\n" VALID,
	  "bad.yaml:2:20: global.admin.listen: expected HOST:PORT or [IPv6]:PORT, got a unix: address (the admin UNIX socket is global.admin.socket)" },
	{ "global:\n  admin: { listen: 127.0.0.1 }\n" VALID,
	  "bad.yaml:2:20: global.admin.listen: expected HOST:PORT, [IPv6]:PORT or unix:/path, got \"127.0.0.1\"" },
	{ "global:\n  admin: { listen: 127.0.0.1:0 }\n" VALID,
	  "bad.yaml:2:20: global.admin.listen: expected a port from 1 to 65535, got \"127.0.0.1:0\"" },

	/* ---- defaults ---- */
	{ "defaults:\n  timeouts:\n    connect: 30\n" VALID,
	  "bad.yaml:3:14: defaults.timeouts.connect: expected a duration with a unit (ms, s, m, h or d), got \"30\"" },
	{ "defaults:\n  timeouts: { connect: 0s, header: 1.5s, tunnel: 31d, drain: 0s, server: }\n" VALID,
	  "bad.yaml:2:24: defaults.timeouts.connect: expected a duration from 1ms to 30d, got \"0s\"\n"
	  "bad.yaml:2:36: defaults.timeouts.header: expected a duration with a unit (ms, s, m, h or d), got \"1.5s\"\n"
	  "bad.yaml:2:50: defaults.timeouts.tunnel: expected a duration from 1ms to 30d, got \"31d\"\n"
	  "bad.yaml:2:74: defaults.timeouts.server: expected a duration with a unit (ms, s, m, h or d), got nothing" },
	{ "defaults:\n  timeouts: { drain: 99999999999999999999s, idle: 1s }\n" VALID,
	  "bad.yaml:2:22: defaults.timeouts.drain: expected a duration from 0s to 30d, got \"99999999999999999999s\"\n"
	  "bad.yaml:2:45: defaults.timeouts.idle: unknown key (did you mean \"client_idle\"?)" },
	{ "defaults: { retries: 17 }\n" VALID,
	  "bad.yaml:1:22: defaults.retries: expected an integer from 0 to 16, got \"17\"" },
	{ "defaults: { retries: -1 }\n" VALID,
	  "bad.yaml:1:22: defaults.retries: expected an integer from 0 to 16, got \"-1\"" },
	{ "defaults: { retries: [1] }\n" VALID,
	  "bad.yaml:1:22: defaults.retries: expected an integer from 0 to 16, got a list" },
	{ "defaults:\n  limits: { header_size: 512, headers: 0, body_size: 16kb }\n" VALID,
	  "bad.yaml:2:26: defaults.limits.header_size: expected a size from 1k to 1m, got \"512\"\n"
	  "bad.yaml:2:40: defaults.limits.headers: expected an integer from 1 to 1000, got \"0\"\n"
	  "bad.yaml:2:54: defaults.limits.body_size: expected a size in bytes with an optional k, m or g suffix, got \"16kb\"" },
	{ "defaults:\n  limits: { header_size: 2m, headers: 1001, body_size: 1025g }\n" VALID,
	  "bad.yaml:2:26: defaults.limits.header_size: expected a size from 1k to 1m, got \"2m\"\n"
	  "bad.yaml:2:39: defaults.limits.headers: expected an integer from 1 to 1000, got \"1001\"\n"
	  "bad.yaml:2:56: defaults.limits.body_size: expected a size from 0 to 1024g, got \"1025g\"" },

	/* ---- pools[].tls ---- */
	{ LISTENERS "pools:\n  - name: web\n    tls: true\n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:10: pools[0].tls: expected a mapping (tls: {} for TLS to the servers with every default), got \"true\"" },
	{ LISTENERS "pools:\n  - name: web\n    tls: \n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:9: pools[0].tls: expected a mapping (tls: {} for TLS to the servers with every default), got nothing" },
	{ LISTENERS "pools:\n  - name: web\n    tls: { verify: yes, min_version: 1.1, sni: 10.0.0.1, verify_name: \"bad name\", alpn: h2 }\n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:20: pools[0].tls.verify: expected true or false, got \"yes\"\n"
	  "bad.yaml:8:38: pools[0].tls.min_version: expected 1.2 or 1.3, got \"1.1\"\n"
	  "bad.yaml:8:48: pools[0].tls.sni: expected a host name (SNI carries no IP addresses), got \"10.0.0.1\"\n"
	  "bad.yaml:8:71: pools[0].tls.verify_name: expected a host name or an IP address, got \"bad name\"\n"
	  "bad.yaml:8:83: pools[0].tls.alpn: unknown key (expected one of: verify, ca, sni, verify_name, cert, key, min_version)" },
	{ LISTENERS "pools:\n  - name: web\n    tls: { cert: /etc/lbd/client.pem }\n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:12: pools[0].tls.cert: cert and key go together: give both or neither" },
	{ LISTENERS "pools:\n  - name: web\n    tls: { ca: /nonexistent/ca.pem }\n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:16: pools[0].tls.ca: cannot read CA file /nonexistent/ca.pem: No such file or directory" },
	{ LISTENERS "pools:\n  - name: web\n    tls: { sni: -bad-.example, ca: \"\" }\n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:17: pools[0].tls.sni: expected a host name (SNI carries no IP addresses), got \"-bad-.example\"\n"
	  "bad.yaml:8:36: pools[0].tls.ca: expected a file path, got an empty string" },
	{ LISTENERS "pools:\n  - name: web\n    tls: { cert: /nonexistent/c.pem, key: /nonexistent/c.key }\n    servers:\n      - address: 127.0.0.1:9001\n",
	  "bad.yaml:8:18: pools[0].tls.cert: cannot read certificate /nonexistent/c.pem: No such file or directory" },
	{ LISTENERS "pools:\n  - name: web\n    tls: {}\n    servers:\n      - address: unix:/run/app.sock\n",
	  "bad.yaml:8:5: pools[0].tls: server unix:/run/app.sock is a unix: address: give tls.sni or tls.verify_name, the name its certificate must carry" },

	/* ---- pools ---- */
	{ LISTENERS "pools:\n  - name: web\n    timeouts: { header: 1s, drain: 1s, server: 1s }\n"
	  "    limits: { headers: 5, header_size: 1k }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:8:17: pools[0].timeouts.header: a client-side setting: it applies before a pool is chosen, so it belongs under defaults.timeouts\n"
	  "bad.yaml:8:29: pools[0].timeouts.drain: a process-wide setting (the wait on stop): it belongs under defaults.timeouts\n"
	  "bad.yaml:9:15: pools[0].limits.headers: a client-side setting: it applies before a pool is chosen, so it belongs under defaults.limits\n"
	  "bad.yaml:9:27: pools[0].limits.header_size: a client-side setting: it applies before a pool is chosen, so it belongs under defaults.limits" },
	{ LISTENERS "pools:\n  - name: web\n    balance: fastest\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:8:14: pools[0].balance: expected round_robin, least_conn, ip_hash, sticky_cookie or maglev, got \"fastest\"" },
	{ LISTENERS "pools:\n  - name: web\n    balance: least_conn\n    hash_key: client_ip\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:5: pools[0].hash_key: hash_key applies only with balance: ip_hash or maglev (or sticky_cookie with fallback: ip_hash)" },
	{ LISTENERS "pools:\n  - name: web\n    hash_key: header:X-Tenant\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:8:5: pools[0].hash_key: hash_key applies only with balance: ip_hash or maglev (or sticky_cookie with fallback: ip_hash)" },
	{ LISTENERS "pools:\n  - name: web\n    balance: ip_hash\n    hash_key: path\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:15: pools[0].hash_key: expected client_ip, uri, header:NAME, cookie:NAME or query:NAME (NAME a header or cookie name, or a query parameter name as sent), got \"path\"" },
	{ LISTENERS "pools:\n  - name: web\n    balance: ip_hash\n    hash_key: \"header:\"\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:15: pools[0].hash_key: expected client_ip, uri, header:NAME, cookie:NAME or query:NAME (NAME a header or cookie name, or a query parameter name as sent), got \"header:\"" },
	{ LISTENERS "pools:\n  - name: web\n    balance: ip_hash\n    hash_key: \"header:X Tenant\"\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:15: pools[0].hash_key: expected client_ip, uri, header:NAME, cookie:NAME or query:NAME (NAME a header or cookie name, or a query parameter name as sent), got \"header:X Tenant\"" },
	{ LISTENERS "pools:\n  - name: web\n    balance: round_robin\n    sticky: { cookie: SRV }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:5: pools[0].sticky: sticky applies only with balance: sticky_cookie" },
	{ LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n    sticky: { cookie: \"a;b\", max_age: 10ms, fallback: sticky_cookie, path: / }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:23: pools[0].sticky.cookie: expected a cookie name of 1 to 64 letters, digits or !#$%&'*+-.^_`|~, got \"a;b\"\n"
	  "bad.yaml:9:39: pools[0].sticky.max_age: expected a duration from 1s to 30d, got \"10ms\"\n"
	  "bad.yaml:9:55: pools[0].sticky.fallback: expected round_robin, least_conn or ip_hash, got \"sticky_cookie\"\n"
	  "bad.yaml:9:70: pools[0].sticky.path: unknown key (expected one of: cookie, max_age, fallback, secret, secret_file, previous_secret, previous_secret_file)" },
	/* sticky secrets: errors name the key, never the value */
	{ LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n    sticky: { secret: \"\", previous_secret: [ hunter2 ] }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:23: pools[0].sticky.secret: expected a secret of 1 to 4096 bytes, got an empty string\n"
	  "bad.yaml:9:44: pools[0].sticky.previous_secret: expected a secret string, got a list" },
	{ LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n    sticky:\n      secret: hunter2\n      secret_file: /nonexistent/lbd-secret\n"
	  "      previous_secret: hunter1\n      previous_secret_file: /nonexistent/lbd-old\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:11:7: pools[0].sticky.secret_file: set secret or secret_file, not both\n"
	  "bad.yaml:11:20: pools[0].sticky.secret_file: cannot read the secret file /nonexistent/lbd-secret: No such file or directory\n"
	  "bad.yaml:13:7: pools[0].sticky.previous_secret_file: set previous_secret or previous_secret_file, not both\n"
	  "bad.yaml:13:29: pools[0].sticky.previous_secret_file: cannot read the secret file /nonexistent/lbd-old: No such file or directory" },
	{ LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n    sticky: { previous_secret: hunter1 }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:15: pools[0].sticky.previous_secret: the secret being rotated from needs the one rotated to: set secret or secret_file too" },
	{ LISTENERS "pools:\n  - name: web\n    balance: sticky_cookie\n    sticky: { previous_secret_file: /dev/null, secret_file: \"\" }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:37: pools[0].sticky.previous_secret_file: cannot read the secret file /dev/null: not a regular file\n"
	  "bad.yaml:9:61: pools[0].sticky.secret_file: expected a file path, got an empty string" },
	{ LISTENERS "pools:\n  - name: web\n    balance: round_robin\n    sticky: { secret: hunter2 }\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:9:5: pools[0].sticky: sticky applies only with balance: sticky_cookie" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    trusted_proxies: [10.0.0.0/8, \"::1\", 10.0.0.1/8, bad, [1]]\n    routes:\n      - pool: web\n" POOLS,
	  "bad.yaml:4:42: listeners[0].trusted_proxies[2]: expected an IP address or a network without address bits beyond its prefix (10.0.0.0/8, 2001:db8::/32), got \"10.0.0.1/8\"\n"
	  "bad.yaml:4:54: listeners[0].trusted_proxies[3]: expected an IP address or a network without address bits beyond its prefix (10.0.0.0/8, 2001:db8::/32), got \"bad\"\n"
	  "bad.yaml:4:59: listeners[0].trusted_proxies[4]: expected an IP address or a network without address bits beyond its prefix (10.0.0.0/8, 2001:db8::/32), got a list" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    trusted_proxies: []\n    routes:\n      - pool: web\n" POOLS,
	  "bad.yaml:4:22: listeners[0].trusted_proxies: expected a non-empty list of addresses or networks, got an empty list" },
	{ "listeners:\n  - name: t\n    bind: 127.0.0.1:8080\n    protocol: tcp\n    trusted_proxies: [10.0.0.0/8]\n    routes:\n      - pool: web\n" POOLS,
	  "bad.yaml:5:5: listeners[0].trusted_proxies: trusted_proxies applies to http listeners only (X-Forwarded-For is an HTTP header); a tcp listener behind a balancer can take the client address from proxy_protocol" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    proxy_protocol: maybe\n    routes:\n      - pool: web\n" POOLS,
	  "bad.yaml:4:21: listeners[0].proxy_protocol: expected true or false, got \"maybe\"" },
	{ "listeners:\n  - name: t\n    bind: 127.0.0.1:8080\n    protocol: tcp\n    routes:\n      - pool: web\n" "pools:\n  - name: web\n    balance: sticky_cookie\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:6:15: listeners[0].routes[0].pool: pool \"web\" balances by sticky_cookie, which needs HTTP: a tcp listener cannot use it" },
	{ "listeners:\n  - name: t\n    bind: 127.0.0.1:8080\n    protocol: tcp\n    routes:\n      - pool: web\n" "pools:\n  - name: web\n    balance: ip_hash\n    hash_key: header:X-Tenant\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:6:15: listeners[0].routes[0].pool: pool \"web\" hashes a part of the request (hash_key: header:X-Tenant), which needs HTTP: a tcp listener cannot use it" },
	{ LISTENERS "pools:\n  - servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:5:15: listeners[0].routes[0].pool: no pool named \"web\" (no pools are defined)\n"
	  "bad.yaml:7:5: pools[0]: missing required key \"name\"" },
	{ LISTENERS "pools:\n  - name: web\n",
	  "bad.yaml:7:5: pools[0]: a pool needs servers, or discovery to find them" },
	{ LISTENERS "pools:\n  - name: web\n    servers: []\n",
	  "bad.yaml:8:14: pools[0].servers: a pool needs servers, or discovery to find them" },
	{ VALID "  - name: web\n    servers: [ { address: 127.0.0.1:2 } ]\n",
	  "bad.yaml:10:11: pools[1].name: duplicate pool name \"web\" (first at line 7)" },
	{ LISTENERS "pools:\n  - name: \"my pool\"\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:5:15: listeners[0].routes[0].pool: no pool named \"web\" (no pools are defined)\n"
	  "bad.yaml:7:11: pools[0].name: expected a name of 1 to 64 letters, digits, \"_\", \".\" or \"-\", got \"my pool\"" },
	{ LISTENERS "pools:\n  - name: web\n    healthcheck: { path: / }\n    sticky: {}\n    servers: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:8:5: pools[0].healthcheck: unknown key (did you mean \"health_check\"?)\n"
	  "bad.yaml:9:5: pools[0].sticky: sticky applies only with balance: sticky_cookie" },
	/* ---- health_check and passive ---- */
#define HC_POOL(body) LISTENERS "pools:\n  - name: web\n" body "    servers: [ { address: 127.0.0.1:1 } ]\n"
	{ HC_POOL("    health_check: { type: udp, interval: 0s, timeout: 5, rise: 0, fall: 101 }\n"),
	  "bad.yaml:8:27: pools[0].health_check.type: expected http or tcp, got \"udp\"\n"
	  "bad.yaml:8:42: pools[0].health_check.interval: expected a duration from 10ms to 1h, got \"0s\"\n"
	  "bad.yaml:8:55: pools[0].health_check.timeout: expected a duration with a unit (ms, s, m, h or d), got \"5\"\n"
	  "bad.yaml:8:64: pools[0].health_check.rise: expected an integer from 1 to 100, got \"0\"\n"
	  "bad.yaml:8:73: pools[0].health_check.fall: expected an integer from 1 to 100, got \"101\"" },
	{ HC_POOL("    health_check: { expect: 200-600 }\n"),
	  "bad.yaml:8:29: pools[0].health_check.expect: expected a status code or a range of them, from 100 to 599 (200, 200-399), got \"200-600\"" },
	{ HC_POOL("    health_check: { expect: 399-200 }\n"),
	  "bad.yaml:8:29: pools[0].health_check.expect: expected a status code or a range of them, from 100 to 599 (200, 200-399), got \"399-200\"" },
	{ HC_POOL("    health_check: { path: healthz }\n"),
	  "bad.yaml:8:27: pools[0].health_check.path: expected a path starting with \"/\" (a query is allowed) of at most 1024 bytes, got \"healthz\"" },
	{ HC_POOL("    health_check: { path: \"/a b\" }\n"),
	  "bad.yaml:8:27: pools[0].health_check.path: expected a path without spaces, control characters, non-ASCII bytes or \"#\", got \"/a b\"" },
	{ HC_POOL("    health_check: { host: \"a b\" }\n"),
	  "bad.yaml:8:27: pools[0].health_check.host: expected a host name, optionally with :PORT (letters, digits, \".-_:[]\", at most 255), got \"a b\"" },
	{ HC_POOL("    health_check: { interval: 1s, timeout: 2s }\n"),
	  "bad.yaml:8:44: pools[0].health_check.timeout: timeout 2s is longer than interval 1s; lbd runs one check at a time per server, so timeout must not exceed interval" },
	{ HC_POOL("    health_check: { type: tcp, path: /x, expect: 200 }\n"),
	  "bad.yaml:8:32: pools[0].health_check.path: path applies only with type: http\n"
	  "bad.yaml:8:42: pools[0].health_check.expect: expect applies only with type: http" },
	{ HC_POOL("    health_check: { intervall: 1s }\n"),
	  "bad.yaml:8:21: pools[0].health_check.intervall: unknown key (did you mean \"interval\"?)" },
	{ HC_POOL("    health_check: yes\n"),
	  "bad.yaml:8:19: pools[0].health_check: expected a mapping with keys type, path, host, interval, timeout, rise, fall, expect, got \"yes\"" },
	{ HC_POOL("    passive: { max_fails: 1001, fail_timeout: 10ms }\n"),
	  "bad.yaml:8:27: pools[0].passive.max_fails: expected an integer from 0 to 1000, got \"1001\"\n"
	  "bad.yaml:8:47: pools[0].passive.fail_timeout: expected a duration from 100ms to 1h, got \"10ms\"" },
	{ "defaults: { passive: { max_fail: 3 } }\n" VALID,
	  "bad.yaml:1:24: defaults.passive.max_fail: unknown key (did you mean \"max_fails\"?)" },
#undef HC_POOL
	{ LISTENERS "pools:\n  - name: web\n    server: [ { address: 127.0.0.1:1 } ]\n",
	  "bad.yaml:7:5: pools[0]: a pool needs servers, or discovery to find them\n"
	  "bad.yaml:8:5: pools[0].server: unknown key (did you mean \"servers\"?)" },

	/* ---- servers ---- */
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - { name: a, address: 127.0.0.1:1 }\n"
	  "      - { name: b, address: 127.0.0.1:1, weight: 300 }\n",
	  "bad.yaml:10:50: pools[0].servers[1].weight: expected an integer from 0 to 256, got \"300\"" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - { address: 127.0.0.1:1, weight: 1.5, backup: yes }\n",
	  "bad.yaml:9:41: pools[0].servers[0].weight: expected an integer from 0 to 256, got \"1.5\"\n"
	  "bad.yaml:9:54: pools[0].servers[0].backup: expected true or false, got \"yes\"" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - { name: a, weight: 2 }\n",
	  "bad.yaml:9:9: pools[0].servers[0]: missing required key \"address\"" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - { address: 127.0.0.1:0 }\n"
	  "      - { address: 127.0.0.1 }\n      - { address: \"[::1:80\" }\n      - { address: 1.2.3.999:80 }\n"
	  "      - { address: \"bad host:80\" }\n      - { address: }\n",
	  "bad.yaml:9:20: pools[0].servers[0].address: expected a port from 1 to 65535, got \"127.0.0.1:0\"\n"
	  "bad.yaml:10:20: pools[0].servers[1].address: expected HOST:PORT, [IPv6]:PORT or unix:/path, got \"127.0.0.1\"\n"
	  "bad.yaml:11:20: pools[0].servers[2].address: expected a numeric IPv6 address in brackets, as in [::1]:80, got \"[::1:80\"\n"
	  "bad.yaml:12:20: pools[0].servers[3].address: expected an IPv4 address such as 192.0.2.1, got \"1.2.3.999:80\"\n"
	  "bad.yaml:13:20: pools[0].servers[4].address: expected a host name, an IPv4 address or an [IPv6] address before the port, got \"bad host:80\"\n"
	  "bad.yaml:14:20: pools[0].servers[5].address: expected HOST:PORT, [IPv6]:PORT or unix:/path, got nothing" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - { name: a, address: 127.0.0.1:1 }\n"
	  "      - { name: a, address: 127.0.0.1:2 }\n",
	  "bad.yaml:10:17: pools[0].servers[1].name: duplicate server name \"a\" (first at line 9)" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - address: 127.0.0.1:1\n"
	  "      - address: 127.0.0.1:1\n",
	  "bad.yaml:10:9: pools[0].servers[1]: duplicate server name \"127.0.0.1:1\" (first at line 9); a server's name defaults to its address, so give these servers names" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - { name: \"a b\", address: 127.0.0.1:1, wieght: 2, addr: x }\n",
	  "bad.yaml:9:17: pools[0].servers[0].name: expected a name of 1 to 64 letters, digits, \"_\", \".\", \"-\", \":\", \"[\", \"]\" or \"/\", got \"a b\"\n"
	  "bad.yaml:9:46: pools[0].servers[0].wieght: unknown key (did you mean \"weight\"?)\n"
	  "bad.yaml:9:57: pools[0].servers[0].addr: unknown key (did you mean \"address\"?)" },
	{ LISTENERS "pools:\n  - name: web\n    servers:\n      - 127.0.0.1:1\n",
	  "bad.yaml:9:9: pools[0].servers[0]: expected a mapping with keys name, address, weight, backup, got \"127.0.0.1:1\"" },

	/* ---- listeners ---- */
	{ "listeners:\n  - name: web\n    bnd: 1.2.3.4:80\n    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:2:5: listeners[0]: missing required key \"bind\"\n"
	  "bad.yaml:3:5: listeners[0].bnd: unknown key (did you mean \"bind\"?)" },
	{ "listeners:\n  - bind: 127.0.0.1:80\n" POOLS,
	  "bad.yaml:2:5: listeners[0]: missing required key \"name\"\n"
	  "bad.yaml:2:5: listeners[0]: missing required key \"routes\"" },
	{ "listeners:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	  "    bind: 127.0.0.1:80\n    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:2:11: listeners[0].name: expected a name of 1 to 64 letters, digits, \"_\", \".\" or \"-\", got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	{ LISTENERS "  - name: web\n    bind: 127.0.0.1:8081\n    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:6:11: listeners[1].name: duplicate listener name \"web\" (first at line 2)" },
	{ LISTENERS "  - name: two\n    bind: [ 127.0.0.2:80, \"*:8080\", 0.0.0.0:8080, 127.0.0.1:8080 ]\n"
	  "    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:7:37: listeners[1].bind[2]: duplicate bind address \"0.0.0.0:8080\" (first at line 7, listener \"two\")\n"
	  "bad.yaml:7:51: listeners[1].bind[3]: duplicate bind address \"127.0.0.1:8080\" (first at line 3, listener \"web\")" },
	{ "listeners:\n  - name: web\n    bind: []\n    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:3:11: listeners[0].bind: expected a non-empty list of addresses, got an empty list" },
	{ "listeners:\n  - name: web\n    bind: unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	  "    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:3:11: listeners[0].bind: expected a unix socket path of 1 to 107 bytes after \"unix:\", got \"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    protocol: udp\n    tls: {}\n    routes: [ { pool: web } ]\n" POOLS,
	  "bad.yaml:4:15: listeners[0].protocol: expected http or tcp, got \"udp\"\n"
	  "bad.yaml:5:10: listeners[0].tls: missing required key \"certificates\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes: []\n" POOLS,
	  "bad.yaml:4:13: listeners[0].routes: expected a non-empty list of routes, got an empty list" },

	/* ---- routes ---- */
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n      - pool: ap\n"
	  "pools:\n  - { name: api, servers: [ { address: 127.0.0.1:1 } ] }\n"
	  "  - { name: web, servers: [ { address: 127.0.0.1:1 } ] }\n",
	  "bad.yaml:5:15: listeners[0].routes[0].pool: no pool named \"ap\" (pools: api, web)" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n      - match: { host: x.com }\n" POOLS,
	  "bad.yaml:5:9: listeners[0].routes[0]: a route needs pool (where requests go), split or redirect" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n"
	  "      - { pool: web, strip_prefix: true }\n"
	  "      - { pool: web, redirect: { to: \"https://a.example\" } }\n"
	  "      - redirect: { to: \"ftp://a.example\", status: 300 }\n"
	  "      - redirect: { to: \"https://a.example/?x\" }\n"
	  "      - { match: { path_prefix: /a }, strip_prefix: yes, redirect: { status: 307 } }\n" POOLS,
	  "bad.yaml:5:22: listeners[0].routes[0].strip_prefix: strip_prefix needs match.path_prefix: there is no prefix to strip\n"
	  "bad.yaml:6:22: listeners[0].routes[1].redirect: a route has either pool or redirect: this one has both\n"
	  "bad.yaml:7:25: listeners[0].routes[2].redirect.to: expected an http:// or https:// URL, or a path starting with \"/\", got \"ftp://a.example\"\n"
	  "bad.yaml:7:52: listeners[0].routes[2].redirect.status: expected a redirect status: 301, 302, 303, 307 or 308, got \"300\"\n"
	  "bad.yaml:8:25: listeners[0].routes[3].redirect.to: expected a URL without spaces, control characters, \"?\" or \"#\" (the request's path and query are added to it), got \"https://a.example/?x\"\n"
	  "bad.yaml:9:53: listeners[0].routes[4].strip_prefix: expected true or false, got \"yes\"\n"
	  "bad.yaml:9:68: listeners[0].routes[4].redirect: missing required key \"to\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n"
	  "      - { match: { host: \"example.com:8080\" }, pool: web }\n"
	  "      - { match: { host: \"a..b\" }, pool: web }\n"
	  "      - { match: { host: \"*\" }, pool: web }\n"
	  "      - { match: { host: \"a.*.com\" }, pool: web }\n"
	  "      - { match: { host: \"a b.com\" }, pool: web }\n"
	  "      - { match: { host: \"example.com.\" }, pool: web }\n" POOLS,
	  "bad.yaml:5:26: listeners[0].routes[0].match.host: expected a host name without a port (routes match the name in the Host header), got \"example.com:8080\"\n"
	  "bad.yaml:6:26: listeners[0].routes[1].match.host: expected a host name such as api.example.com or *.example.com, got \"a..b\"\n"
	  "bad.yaml:7:26: listeners[0].routes[2].match.host: expected a host name such as api.example.com or *.example.com, got \"*\"\n"
	  "bad.yaml:8:26: listeners[0].routes[3].match.host: expected a host name such as api.example.com or *.example.com, got \"a.*.com\"\n"
	  "bad.yaml:9:26: listeners[0].routes[4].match.host: expected a host name such as api.example.com or *.example.com, got \"a b.com\"\n"
	  "bad.yaml:10:26: listeners[0].routes[5].match.host: expected a host name such as api.example.com or *.example.com, got \"example.com.\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n"
	  "      - { match: { path_prefix: api }, pool: web }\n"
	  "      - { match: { path_prefix: \"/a b\" }, pool: web }\n"
	  "      - { match: { path_prefix: \"/a?b\" }, pool: web }\n" POOLS,
	  "bad.yaml:5:33: listeners[0].routes[0].match.path_prefix: expected a path starting with \"/\", got \"api\"\n"
	  "bad.yaml:6:33: listeners[0].routes[1].match.path_prefix: expected a path without spaces, control characters, \"?\" or \"#\", got \"/a b\"\n"
	  "bad.yaml:7:33: listeners[0].routes[2].match.path_prefix: expected a path without spaces, control characters, \"?\" or \"#\", got \"/a?b\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n"
	  "      - { match: {}, pool: web }\n      - { match: , pool: web }\n"
	  "      - { match: { hosts: a.com, path: /x }, pool: web }\n" POOLS,
	  "bad.yaml:5:18: listeners[0].routes[0].match: an empty match: give host, path_prefix, path, methods, headers or query, or leave match out to match every request\n"
	  "bad.yaml:6:18: listeners[0].routes[1].match: an empty match: give host, path_prefix, path, methods, headers or query, or leave match out to match every request\n"
	  "bad.yaml:7:20: listeners[0].routes[2].match.hosts: unknown key (did you mean \"host\"?)" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n"
	  "      - { split: [ { pool: web, weight: 1 } ], pool: web }\n"
	  "      - { split: [ { pool: nope, weight: 1 }, { pool: web } ] }\n"
	  "      - { split: [ { pool: web, weight: 0 } ], split_key: \"header:\" }\n"
	  "      - { pool: web, split_key: client_ip }\n"
	  "      - { split: [ { pool: web, weight: 1 } ], split_key: \"cookie:a b\" }\n" POOLS,
	  "bad.yaml:5:11: listeners[0].routes[0].split: a route has one of pool, split and redirect: this one has split and pool\n"
	  "bad.yaml:6:28: listeners[0].routes[1].split[0].pool: no pool named \"nope\" (pools: web)\n"
	  "bad.yaml:6:47: listeners[0].routes[1].split[1]: missing required key \"weight\"\n"
	  "bad.yaml:7:18: listeners[0].routes[2].split: the weights of a split add up to 0: no pool would get a request\n"
	  "bad.yaml:7:59: listeners[0].routes[2].split_key: expected client_ip, uri, header:NAME, cookie:NAME or query:NAME (NAME a header or cookie name, or a query parameter name as sent), got \"header:\"\n"
	  "bad.yaml:8:22: listeners[0].routes[3].split_key: split_key needs split: there is no side to keep\n"
	  "bad.yaml:9:59: listeners[0].routes[4].split_key: expected client_ip, uri, header:NAME, cookie:NAME or query:NAME (NAME a header or cookie name, or a query parameter name as sent), got \"cookie:a b\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes:\n"
	  "      - { match: { path: x }, pool: web }\n"
	  "      - { match: { methods: [GET, get, \"A B\"] }, pool: web }\n"
	  "      - { match: { headers: { \"X A\": 1, X-B: \"\\x01\" } }, pool: web }\n"
	  "      - { match: { query: { \"a=b\": 1, c: \"d&e\" } }, pool: web }\n"
	  "      - { match: { methods: GET, headers: [a] }, pool: web }\n" POOLS,
	  "bad.yaml:5:26: listeners[0].routes[0].match.path: expected a path starting with \"/\", without spaces, control characters, \"?\" or \"#\" (the query is matched by match.query), got \"x\"\n"
	  "bad.yaml:6:35: listeners[0].routes[1].match.methods[1]: expected a request method in upper case (GET, POST, PURGE), got \"get\"\n"
	  "bad.yaml:6:40: listeners[0].routes[1].match.methods[2]: expected a request method in upper case (GET, POST, PURGE), got \"A B\"\n"
	  "bad.yaml:7:31: listeners[0].routes[2].match.headers.X A: expected a header field name (letters, digits and !#$%&'*+-.^_`|~), got \"X A\"\n"
	  "bad.yaml:7:46: listeners[0].routes[2].match.headers.X-B: expected a field value without control characters, got \"?\"\n"
	  "bad.yaml:8:29: listeners[0].routes[3].match.query.a=b: expected a query parameter name as sent, without spaces, \"&\", \"=\" or \"#\", got \"a=b\"\n"
	  "bad.yaml:8:42: listeners[0].routes[3].match.query.c: expected a query parameter value as sent (not percent-decoded), without spaces, \"&\" or \"#\", got \"d&e\"\n"
	  "bad.yaml:9:29: listeners[0].routes[4].match.methods: expected a non-empty list of request methods, got \"GET\"\n"
	  "bad.yaml:9:43: listeners[0].routes[4].match.headers: expected a mapping of names to values, got a list" },
	{ "listeners:\n  - name: db\n    bind: 127.0.0.1:5432\n    protocol: tcp\n    routes:\n"
	  "      - { match: { path_prefix: / }, pool: web }\n" POOLS,
	  "bad.yaml:6:11: listeners[0].routes[0].match: tcp listeners route by pool only" },
	{ "listeners:\n  - name: db\n    bind: 127.0.0.1:5432\n    protocol: tcp\n    routes:\n"
	  "      - { pool: web, request_headers: { set: { X-A: b } } }\n" POOLS,
	  "bad.yaml:6:22: listeners[0].routes[0].request_headers: tcp listeners route by pool only" },
	{ "listeners:\n  - name: db\n    bind: 127.0.0.1:5432\n    protocol: tcp\n    routes:\n"
	  "      - { pool: web, retry_on: [503] }\n" POOLS,
	  "bad.yaml:6:22: listeners[0].routes[0].retry_on: tcp listeners route by pool only" },
	{ "listeners:\n  - name: db\n    bind: 127.0.0.1:5432\n    protocol: tcp\n    routes:\n"
	  "      - pool: web\n      - pool: web\n" POOLS,
	  "bad.yaml:7:9: listeners[0].routes[1]: tcp listeners route by pool only: expected exactly one route, got 2" },

	/* ---- several errors at once, reported in file order ---- */
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:80\n    routes: [ { pool: nope } ]\n"
	  "pools:\n  - name: web\n    servers: [ { address: 127.0.0.1:1, weight: -2 } ]\n"
	  "defaults: { retries: many }\nglobal: { workers: 0 }\n",
	  "bad.yaml:4:23: listeners[0].routes[0].pool: no pool named \"nope\" (pools: web)\n"
	  "bad.yaml:7:48: pools[0].servers[0].weight: expected an integer from 0 to 256, got \"-2\"\n"
	  "bad.yaml:8:22: defaults.retries: expected an integer from 0 to 16, got \"many\"\n"
	  "bad.yaml:9:20: global.workers: expected auto or an integer from 1 to 256, got \"0\"" },

	/* ---- listeners[].tls ---- */
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: {}\n" POOLS,
	  "bad.yaml:6:10: listeners[0].tls: missing required key \"certificates\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [] }\n" POOLS,
	  "bad.yaml:6:26: listeners[0].tls.certificates: expected a non-empty list of certificates ({cert: PATH, key: PATH}), got an empty list" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [ { cert: /nonexistent/a.pem } ] }\n" POOLS,
	  "bad.yaml:6:28: listeners[0].tls.certificates[0]: missing required key \"key\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [ { cert: /nonexistent/a.pem, key: /nonexistent/a.key } ] }\n" POOLS,
	  "bad.yaml:6:36: listeners[0].tls.certificates[0].cert: cannot open certificate /nonexistent/a.pem: No such file or directory" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [ { cert: /nonexistent/a.pem, key: /k } ], min_version: \"1.1\" }\n" POOLS,
	  "bad.yaml:6:82: listeners[0].tls.min_version: expected 1.2 or 1.3, got \"1.1\"" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [ { cert: /a, key: /k } ], session_tickets: maybe, ciphers: \"A B\" }\n" POOLS,
	  "bad.yaml:6:70: listeners[0].tls.session_tickets: expected true or false, got \"maybe\"\n"
	  "bad.yaml:6:86: listeners[0].tls.ciphers: expected an OpenSSL cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20, without spaces or control characters" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificate: [ { cert: /a, key: /k } ] }\n" POOLS,
	  "bad.yaml:6:10: listeners[0].tls: missing required key \"certificates\"\n"
	  "bad.yaml:6:12: listeners[0].tls.certificate: unknown key (did you mean \"certificates\"?)" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [ { cert: \"\", key: /k } ] }\n" POOLS,
	  "bad.yaml:6:36: listeners[0].tls.certificates[0].cert: expected a file path, got an empty string" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    proxy_protocol: true\n    tls: { certificates: [ { cert: /nonexistent/a.pem, key: /k } ] }\n" POOLS,
	  "bad.yaml:7:36: listeners[0].tls.certificates[0].cert: cannot open certificate /nonexistent/a.pem: No such file or directory" },
	{ "listeners:\n  - name: web\n    bind: 127.0.0.1:8080\n    routes:\n      - pool: web\n    tls: { certificates: [ { cert: \"" TESTS_SRCDIR "/configs/good/full.yaml\", key: /k } ] }\n" POOLS,
	  "bad.yaml:6:36: listeners[0].tls.certificates[0].cert: " TESTS_SRCDIR "/configs/good/full.yaml: no PEM certificate (no start line)" },

	/* ---- resolvers[] and pools[].discovery ---- */
	{ LISTENERS "pools:\n  - name: web\n    discovery: { dns: _http._tcp.api.service.consul, port: 80 }\n    servers: []\n",
	  "bad.yaml:8:60: pools[0].discovery.port: an SRV name gives the servers' ports (drop port)" },
	{ LISTENERS "pools:\n  - name: web\n    discovery: { dns: api.test }\n",
	  "bad.yaml:8:23: pools[0].discovery.dns: an A/AAAA name needs port: the servers' port (or give an SRV name, \"_service._tcp.NAME\")" },
	{ LISTENERS "pools:\n  - name: web\n    discovery: { dns: \"bad name!\", port: 80, refresh: 10ms, hold: forever }\n",
	  "bad.yaml:8:23: pools[0].discovery.dns: expected a DNS name (letters, digits, '-' and '_', dots between labels), got \"bad name!\"\n"
	  "bad.yaml:8:55: pools[0].discovery.refresh: expected a duration from 1s to 1h, got \"10ms\"\n"
	  "bad.yaml:8:67: pools[0].discovery.hold: expected a duration with a unit (ms, s, m, h or d), got \"forever\"" },
	{ LISTENERS "pools:\n  - name: web\n    discovery: { dns: api.test, port: 80, resolver: consul }\n",
	  "bad.yaml:8:53: pools[0].discovery.resolver: no resolver named \"consul\" (resolvers[] names them)" },
	{ "resolvers:\n  - { name: r, nameservers: [127.0.0.1:53] }\n  - { name: r, nameservers: [\"nowhere:53\", unix:/x], timeout: 0s, attempts: 11 }\n  - { nameservers: [] }\n" LISTENERS "pools:\n  - name: web\n    discovery: { dns: api.test, port: 80, resolver: r }\n",
	  "bad.yaml:3:13: resolvers[1].name: duplicate resolver name \"r\" (first at line 2)\n"
	  "bad.yaml:3:30: resolvers[1].nameservers[0]: expected an IP address and port (IP:PORT or [IPv6]:PORT), got \"nowhere:53\"\n"
	  "bad.yaml:3:44: resolvers[1].nameservers[1]: expected an IP address and port, got unix:/x\n"
	  "bad.yaml:3:63: resolvers[1].timeout: expected a duration from 100ms to 1m, got \"0s\"\n"
	  "bad.yaml:3:77: resolvers[1].attempts: expected an integer from 1 to 10, got \"11\"\n"
	  "bad.yaml:4:5: resolvers[2]: missing required key \"name\"\n"
	  "bad.yaml:4:20: resolvers[2].nameservers: expected a non-empty list of nameserver addresses (IP:PORT), got an empty list" },
};
