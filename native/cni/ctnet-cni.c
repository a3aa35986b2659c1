/*
 * ctnet-cni: the CNI plugin executable that runtimes run, installed as DIR/ctnet by
 * `ctnet install-cni`. It holds no networking logic. A runtime execs a plugin for every ADD and
 * DEL, and a Node process costs more to start than the whole attach, so this small program only
 * carries the invocation to the ctnet agent and its answer back:
 *
 *   VERSION         answered here, byte for byte as the Node plugin answers (src/cni/version.ts):
 *                   runtimes call it before every ADD and DEL. A config this file cannot vouch for
 *                   (not a JSON object, or ill-formed UTF-8, a lone surrogate, ...) goes to the Node
 *                   plugin, which answers it by definition.
 *   ADD, DEL, ...   POST /v1/cni to the agent's socket ($CTNET_SOCKET, else /run/ctnet/ctnet.sock)
 *                   with every CNI_* and CTNET_* variable and the config read from stdin. A 200
 *                   answer's body goes to stdout unchanged and its Ctnet-Cni-Exit header is the exit
 *                   status.
 *   no agent        nothing was sent (connect or send failed) or the agent answered 421 (it serves
 *                   another state directory): exec the Node plugin with the same argv, environment
 *                   and config, so a host without the agent works as before.
 *   agent trouble   once the whole request is out, any other outcome (another status, a broken or
 *                   cut-off answer, no answer within 30 s) is CNI error 11, "try again later", and
 *                   never the Node plugin: the agent may have done the work.
 *   anything else   no CNI_COMMAND or an unknown one: the Node plugin prints the banner or the error.
 *
 * node's absolute path and the Node plugin's (CTNET_NODE, CTNET_PLUGIN) are compiled in by
 * binding.gyp: runtimes call plugins with a reduced PATH (conmon runs DEL that way).
 * libc only; every system call is checked.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#if !defined(CTNET_NODE) || !defined(CTNET_PLUGIN)
#error "CTNET_NODE and CTNET_PLUGIN (absolute paths, as string literals) must be defined; binding.gyp does"
#endif

#define DEFAULT_SOCKET "/run/ctnet/ctnet.sock"
#define TIMEOUT_MS 30000
/* src/cni/version.ts: SUPPORTED_VERSIONS and LATEST_VERSION (cni-client.test.ts compares the answers). */
#define SUPPORTED_VERSIONS "[\"1.0.0\",\"1.1.0\"]"
#define LATEST_VERSION "1.1.0"
/* The cniVersion of this file's own errors when the config names none: what every runtime reads. */
#define ERROR_VERSION "1.0.0"
#define CNI_ERR_IO 5
#define CNI_ERR_TRY_AGAIN 11
#define CNI_ERR_INTERNAL 999
/* A CNI result is a few KiB; an answer larger than this is not one. */
#define MAX_ANSWER (16u << 20)
/* Deeper configs go to the Node plugin instead of deeper recursion here. */
#define MAX_DEPTH 512
/* How much of a refusal's body goes into the error's details. */
#define MAX_QUOTED 512

extern char **environ;

struct buf {
	char *data;
	size_t len, cap;
};

/* What the config says, as far as this file reads it. */
struct config {
	int plain;       /* a JSON object JSON.parse reads exactly as this file does */
	int has_version; /* its (last) cniVersion member is a string, decoded into version */
	struct buf version;
};

struct answer {
	int status;
	int exit_code; /* Ctnet-Cni-Exit, -1 when absent */
	const char *status_line;
	size_t status_len;
	struct buf body;
};

static struct config cfg;
static const char *socket_path;
static long timeout_ms = TIMEOUT_MS;

/* No allocation here: this is what runs when allocation failed. */
static void __attribute__((noreturn)) out_of_memory(void)
{
	static const char err[] = "{\"cniVersion\":\"" ERROR_VERSION "\",\"code\":999,\"msg\":\"out of memory\"}\n";
	/* Nothing is left to report a failed write with; the exit status says it failed anyway. */
	ssize_t ignored = write(STDOUT_FILENO, err, sizeof err - 1);
	(void)ignored;
	_exit(1);
}

/* Makes room for n more bytes. */
static void buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n) return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > ((size_t)-1) / 2) out_of_memory();
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) out_of_memory();
	b->data = p;
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n) memcpy(b->data + b->len, data, n);
	b->len += n;
}

static void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_addc(struct buf *b, char c) { buf_add(b, &c, 1); }

/* `ECONNRESET (Connection reset by peer)`, as ctnet's own messages name an errno (glibc 2.32+). */
static const char *errno_text(int e)
{
	static char text[160];
	const char *name = strerrorname_np(e);
	snprintf(text, sizeof text, "%s (%s)", name ? name : "unknown errno", strerror(e));
	return text;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Appends s as a JSON string, escaped exactly as JSON.stringify escapes: VERSION's answer must be
 * the Node plugin's byte for byte. Bytes >= 0x80 pass through (UTF-8, or whatever the runtime put
 * in its environment, which Node would decode the same way).
 */
static void json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\b': buf_adds(b, "\\b"); break;
		case '\f': buf_adds(b, "\\f"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		default:
			if (c < 0x20) {
				char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				buf_add(b, u, sizeof u);
			} else {
				buf_addc(b, (char)c);
			}
		}
	}
	buf_addc(b, '"');
}

/*
 * Called once this process will exec nothing more (an ignored signal stays ignored across exec): a
 * runtime that closed stdout then gets exit 1 and a line on stderr, as from the Node plugin, rather
 * than a death by SIGPIPE. signal() fails only for an invalid signal or handler.
 */
static void ignore_sigpipe(void)
{
	(void)signal(SIGPIPE, SIG_IGN);
}

/*
 * Answers the runtime with a CNI error object on stdout, and the same as one line on stderr for
 * its log (as the Node plugin does), then exits 1.
 */
static void __attribute__((noreturn, format(printf, 3, 4))) fail(int code, const char *msg, const char *fmt, ...)
{
	char details[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(details, sizeof details, fmt, ap);
	va_end(ap);
	struct buf out = { 0 };
	buf_adds(&out, "{\"cniVersion\":");
	if (cfg.plain && cfg.has_version && cfg.version.len > 0) json_string(&out, cfg.version.data, cfg.version.len);
	else buf_adds(&out, "\"" ERROR_VERSION "\"");
	char num[32];
	snprintf(num, sizeof num, ",\"code\":%d,\"msg\":", code);
	buf_adds(&out, num);
	json_string(&out, msg, strlen(msg));
	buf_adds(&out, ",\"details\":");
	json_string(&out, details, strlen(details));
	buf_adds(&out, "}\n");
	/* A runtime that closed stdout still reads stderr; there is no one to tell that either failed. */
	ignore_sigpipe();
	(void)write_all(STDOUT_FILENO, out.data, out.len);
	fprintf(stderr, "ctnet-cni: %s: %s\n", msg, details);
	exit(1);
}

/* ---- The config: just enough of JSON.parse to answer VERSION and to date errors ---------------- */

struct cursor {
	const unsigned char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(struct cursor *c, unsigned char ch)
{
	skip_ws(c);
	if (c->p == c->end || *c->p != ch) return 0;
	c->p++;
	return 1;
}

static int hex4(struct cursor *c, unsigned *cp)
{
	if (c->end - c->p < 4) return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = c->p[i];
		if (!isxdigit(h)) return -1;
		v = v << 4 | (unsigned)(isdigit(h) ? h - '0' : tolower(h) - 'a' + 10);
	}
	c->p += 4;
	*cp = v;
	return 0;
}

/*
 * The length of the well-formed UTF-8 sequence at p, or 0. The Node plugin decodes stdin first and
 * an ill-formed sequence becomes U+FFFD there: such a config is not this file's to judge.
 */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	if (n <= 1 || (size_t)(end - p) < n) return n == 1 ? 1 : 0;
	unsigned cp = *p & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	return cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : n;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	/* n bytes: a lead byte with n-1 continuation bytes of six bits each after it. */
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = { 0, 0x00, 0xc0, 0xe0, 0xf0 };
	char u[4];
	for (size_t i = n - 1; i > 0; i--, cp >>= 6) u[i] = (char)(0x80 | (cp & 0x3f));
	u[0] = (char)(lead[n] | cp);
	buf_add(b, u, n);
}

/*
 * A string, from its opening quote; decoded into out unless out is NULL. A lone surrogate is valid
 * JSON but has no UTF-8: decoding one fails, and the Node plugin answers instead.
 */
static int parse_string(struct cursor *c, struct buf *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = *c->p;
		if (ch == '"') {
			c->p++;
			return 0;
		}
		if (ch < 0x20) return -1;
		if (ch != '\\') {
			size_t n = utf8_seq(c->p, c->end);
			if (n == 0) return -1;
			if (out) buf_add(out, c->p, n);
			c->p += n;
			continue;
		}
		if (++c->p == c->end) return -1;
		const char *simple = *c->p ? strchr(from, *c->p) : NULL;
		if (simple) {
			if (out) buf_addc(out, to[simple - from]);
			c->p++;
			continue;
		}
		unsigned cp, lo;
		if (*c->p++ != 'u' || hex4(c, &cp)) return -1;
		/* A high surrogate escape followed by a low one is one character. */
		if (cp >= 0xd800 && cp <= 0xdbff && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
			struct cursor low = { c->p + 2, c->end };
			if (hex4(&low, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				c->p = low.p;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff) {
			if (out) return -1;
		} else if (out) {
			put_utf8(out, cp);
		}
	}
	return -1;
}

static int parse_digits(struct cursor *c)
{
	const unsigned char *start = c->p;
	while (c->p < c->end && isdigit(*c->p)) c->p++;
	return c->p > start ? 0 : -1;
}

static int parse_number(struct cursor *c)
{
	if (*c->p == '-') c->p++;
	if (c->p < c->end && *c->p == '0') c->p++;
	else if (parse_digits(c)) return -1;
	if (c->p < c->end && *c->p == '.' && (c->p++, parse_digits(c))) return -1;
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
		if (parse_digits(c)) return -1;
	}
	return 0;
}

static int parse_literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
	c->p += n;
	return 0;
}

static int parse_container(struct cursor *c, int depth, struct config *top);

static int parse_value(struct cursor *c, int depth)
{
	skip_ws(c);
	if (c->p == c->end || depth > MAX_DEPTH) return -1;
	switch (*c->p) {
	case '{':
	case '[': return parse_container(c, depth, NULL);
	case '"': return parse_string(c, NULL);
	case 't': return parse_literal(c, "true");
	case 'f': return parse_literal(c, "false");
	case 'n': return parse_literal(c, "null");
	default: return *c->p == '-' || isdigit(*c->p) ? parse_number(c) : -1;
	}
}

/*
 * An object or an array, from its opening bracket. For the config itself (top), the members named
 * cniVersion are decoded: JSON.parse keeps the last of duplicate keys, and so does this.
 */
static int parse_container(struct cursor *c, int depth, struct config *top)
{
	unsigned char close = *c->p == '{' ? '}' : ']';
	c->p++;
	if (eat(c, close)) return 0;
	do {
		int is_version = 0;
		if (close == '}') {
			struct buf key = { 0 };
			skip_ws(c);
			if (c->p == c->end || *c->p != '"') return -1;
			int r = parse_string(c, top ? &key : NULL);
			is_version = top && r == 0 && key.len == 10 && memcmp(key.data, "cniVersion", 10) == 0;
			free(key.data);
			if (r || !eat(c, ':')) return -1;
		}
		int r;
		if (is_version && (skip_ws(c), c->p < c->end && *c->p == '"')) {
			top->version.len = 0;
			r = parse_string(c, &top->version);
			top->has_version = 1;
		} else {
			if (is_version) top->has_version = 0;
			r = parse_value(c, depth + 1);
		}
		if (r) return -1;
	} while (eat(c, ','));
	return eat(c, close) ? 0 : -1;
}

static void parse_config(const struct buf *in)
{
	struct cursor c = { (const unsigned char *)in->data, (const unsigned char *)in->data + in->len };
	skip_ws(&c);
	cfg.plain = c.p < c.end && *c.p == '{' && parse_container(&c, 0, &cfg) == 0 && (skip_ws(&c), c.p == c.end);
}

/* ---- VERSION and the Node plugin ----------------------------------------------------------------- */

/* skel.ts's CONTAINER_ID: the Node plugin refuses any other CNI_CONTAINERID, even for VERSION. */
static int container_id_ok(void)
{
	const char *id = getenv("CNI_CONTAINERID");
	if (!id || !*id) return 1;
	if (!isalnum((unsigned char)*id)) return 0;
	for (const char *p = id + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') return 0;
	return 1;
}

/* version.ts: the config's cniVersion when it is a non-empty string, else the newest spoken. */
static int answer_version(void)
{
	struct buf out = { 0 };
	buf_adds(&out, "{\"cniVersion\":");
	if (cfg.has_version && cfg.version.len > 0) json_string(&out, cfg.version.data, cfg.version.len);
	else buf_adds(&out, "\"" LATEST_VERSION "\"");
	buf_adds(&out, ",\"supportedVersions\":" SUPPORTED_VERSIONS "}\n");
	if (write_all(STDOUT_FILENO, out.data, out.len) < 0) {
		fprintf(stderr, "ctnet-cni: failed to write the VERSION result: %s\n", errno_text(errno));
		return 1;
	}
	return 0;
}

/*
 * Becomes the Node plugin: same arguments after argv[0], same environment, and as stdin the config
 * already read (NULL: this process's stdin, unread). The config goes into a memfd rather than a
 * pipe, which would need a writer process for a config larger than the pipe's buffer.
 */
static void __attribute__((noreturn)) exec_plugin(char **argv, const struct buf *config)
{
	if (config) {
		int fd = memfd_create("ctnet-cni-config", 0);
		if (fd < 0) fail(CNI_ERR_INTERNAL, "cannot pass the network configuration on", "memfd_create: %s", errno_text(errno));
		if (write_all(fd, config->data, config->len) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			fail(CNI_ERR_INTERNAL, "cannot pass the network configuration on", "write to the memfd: %s", errno_text(errno));
		/* fd is 0 when this process got no stdin at all; then it is in place already. */
		if (fd != STDIN_FILENO && (dup2(fd, STDIN_FILENO) < 0 || close(fd) < 0))
			fail(CNI_ERR_INTERNAL, "cannot pass the network configuration on", "dup2 to stdin: %s", errno_text(errno));
	}
	size_t argc = 0;
	while (argv[argc]) argc++;
	char **args = calloc(argc + 3, sizeof *args);
	if (!args) out_of_memory();
	args[0] = CTNET_NODE;
	args[1] = CTNET_PLUGIN;
	for (size_t i = 1; i < argc; i++) args[i + 1] = argv[i];
	execve(CTNET_NODE, args, environ);
	fail(CNI_ERR_INTERNAL, "cannot run the ctnet Node plugin",
	     "execve %s %s: %s; reinstall ctnet, then run `ctnet install-cni` again", CTNET_NODE, CTNET_PLUGIN, errno_text(errno));
}

/* ---- The agent ----------------------------------------------------------------------------------- */

static long long now_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) fail(CNI_ERR_INTERNAL, "cannot read the clock", "clock_gettime: %s", errno_text(errno));
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CTNET_AGENT_TIMEOUT_MS may shorten the wait (tests do), never lengthen it. */
static void read_timeout(void)
{
	const char *s = getenv("CTNET_AGENT_TIMEOUT_MS");
	char *end;
	if (!s || !isdigit((unsigned char)*s)) return;
	errno = 0;
	long ms = strtol(s, &end, 10);
	if (errno == 0 && *end == '\0' && ms > 0 && ms <= TIMEOUT_MS) timeout_ms = ms;
}

/*
 * Sets the socket's send and receive timeouts to what is left until the deadline, so no connect,
 * send or recv waits past it (for a unix socket, connect waits on a full queue for SO_SNDTIMEO).
 */
static int arm(int fd, long long deadline)
{
	long long left = deadline - now_us();
	if (left <= 0) { /* a zero timeout would mean none at all */
		errno = EAGAIN;
		return -1;
	}
	struct timeval tv = { .tv_sec = (time_t)(left / 1000000), .tv_usec = (suseconds_t)(left % 1000000) };
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		fail(CNI_ERR_INTERNAL, "cannot set a timeout on the agent's socket", "setsockopt: %s", errno_text(errno));
	return 0;
}

static void __attribute__((noreturn)) agent_timed_out(void)
{
	fail(CNI_ERR_TRY_AGAIN, "the ctnet agent did not answer in time",
	     "no answer on %s within %ld ms; the agent may still complete the request; try again later", socket_path, timeout_ms);
}

static void build_request(struct buf *req, const struct buf *config)
{
	struct buf body = { 0 };
	int first = 1;
	buf_adds(&body, "{\"env\":{");
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || (strncmp(*e, "CNI_", 4) != 0 && strncmp(*e, "CTNET_", 6) != 0)) continue;
		if (!first) buf_addc(&body, ',');
		first = 0;
		json_string(&body, *e, (size_t)(eq - *e));
		buf_addc(&body, ':');
		json_string(&body, eq + 1, strlen(eq + 1));
	}
	buf_adds(&body, "},\"stdin\":");
	json_string(&body, config->data, config->len);
	buf_addc(&body, '}');
	char head[256];
	int n = snprintf(head, sizeof head,
			 "POST /v1/cni HTTP/1.1\r\nHost: ctnet\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", body.len);
	buf_add(req, head, (size_t)n);
	buf_add(req, body.data, body.len);
	free(body.data);
}

static int bad(const char **why, const char *what)
{
	*why = what;
	return -1;
}

/* A decimal header value no larger than max. */
static int header_number(const char *v, const char *end, long long max, long long *out)
{
	long long x = 0;
	if (v == end) return -1;
	for (; v < end; v++) {
		if (!isdigit((unsigned char)*v) || (x = x * 10 + (*v - '0')) > max) return -1;
	}
	*out = x;
	return 0;
}

/* A chunked body (RFC 9112 section 7.1): 1 once its last chunk has arrived, 0 before. */
static int parse_chunks(const char *p, const char *end, struct buf *out, const char **why)
{
	for (;;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol) return 0;
		size_t size = 0;
		const char *q = p;
		for (; q < eol && isxdigit((unsigned char)*q); q++) {
			if (size > MAX_ANSWER) return bad(why, "a chunk is larger than an answer can be");
			size = size * 16 + (size_t)(isdigit((unsigned char)*q) ? *q - '0' : tolower((unsigned char)*q) - 'a' + 10);
		}
		if (q == p || (q < eol && *q != ';')) return bad(why, "a chunk size is malformed"); /* ';': an extension, ignored */
		p = eol + 2;
		if (size == 0) /* the last chunk; then trailer fields (ignored) up to an empty line */
			return (end - p >= 2 && p[0] == '\r' && p[1] == '\n') || memmem(p, (size_t)(end - p), "\r\n\r\n", 4) ? 1 : 0;
		if ((size_t)(end - p) < size + 2) return 0;
		if (p[size] != '\r' || p[size + 1] != '\n') return bad(why, "a chunk does not end with CRLF");
		buf_add(out, p, size);
		p += size + 2;
	}
}

/*
 * Parses the answer as far as it has arrived (eof: all of it has). 1 when it is whole (a 421 needs
 * no body), 0 while more must come, -1 with *why when it is no answer this client understands.
 */
static int parse_answer(const struct buf *in, int eof, struct answer *a, const char **why)
{
	const char *s = in->data, *end = in->data + in->len;
	const char *head_end = in->len ? memmem(s, in->len, "\r\n\r\n", 4) : NULL;
	if (!head_end) return 0;
	if (head_end - s < 12 || (memcmp(s, "HTTP/1.1 ", 9) != 0 && memcmp(s, "HTTP/1.0 ", 9) != 0) || !isdigit((unsigned char)s[9])
			|| !isdigit((unsigned char)s[10]) || !isdigit((unsigned char)s[11]) || (s[12] != ' ' && s[12] != '\r'))
		return bad(why, "it does not start with an HTTP/1.x status line");
	a->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	const char *line = (const char *)memmem(s, (size_t)(head_end + 2 - s), "\r\n", 2) + 2;
	a->status_line = s;
	a->status_len = (size_t)(line - 2 - s);
	a->exit_code = -1;
	long long length = -1, exit_code;
	int chunked = 0;
	for (const char *eol; line < head_end + 2; line = eol + 2) {
		eol = memmem(line, (size_t)(head_end + 2 - line), "\r\n", 2);
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon) return bad(why, "a header line has no colon");
		const char *v = colon + 1, *ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t')) v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
		size_t n = (size_t)(colon - line);
#define IS(name) (n == sizeof name - 1 && strncasecmp(line, name, n) == 0)
		if (IS("Content-Length") && header_number(v, ve, MAX_ANSWER, &length) < 0)
			return bad(why, "its Content-Length is not a number, or too large");
		if (IS("Transfer-Encoding")) {
			chunked = ve - v == 7 && strncasecmp(v, "chunked", 7) == 0;
			if (!chunked) return bad(why, "its Transfer-Encoding is not chunked");
		}
		if (IS("Ctnet-Cni-Exit")) {
			if (header_number(v, ve, 255, &exit_code) < 0) return bad(why, "its Ctnet-Cni-Exit is not an exit status");
			a->exit_code = (int)exit_code;
		}
#undef IS
	}
	const char *body = head_end + 4;
	a->body.len = 0;
	if (a->status == 421) return 1;
	if (chunked) return parse_chunks(body, end, &a->body, why);
	if (length >= 0) {
		if (end - body < length) return 0;
		buf_add(&a->body, body, (size_t)length);
		return 1;
	}
	if (!eof) return 0; /* no length: Connection: close ends the body */
	buf_add(&a->body, body, (size_t)(end - body));
	return 1;
}

/*
 * Asks the agent. 0 when there is none to ask (nothing was sent, or it answered 421), so the Node
 * plugin should answer; 1 with its answer in *a. Any other outcome after the request went out
 * ends here with CNI error 11.
 */
static int ask_agent(const struct buf *config, struct answer *a)
{
	long long deadline = now_us() + timeout_ms * 1000LL;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socket_path = getenv("CTNET_SOCKET");
	if (!socket_path || !*socket_path) socket_path = DEFAULT_SOCKET;
	if (strlen(socket_path) >= sizeof addr.sun_path) return 0; /* no agent can listen there */
	memcpy(addr.sun_path, socket_path, strlen(socket_path));
	/* Never closed: exec closes it (CLOEXEC) on the way to the Node plugin, exit on the other ways.
	 * A socket that cannot be made (EMFILE, ENOMEM) has sent nothing either. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return 0;
	if (arm(fd, deadline) < 0) agent_timed_out();
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		/* EAGAIN: a live agent whose queue stayed full until the deadline. Anything else (ENOENT,
		 * ECONNREFUSED from a dead agent's socket file, EACCES for non-root) means no agent has
		 * seen the request, so the Node plugin may safely answer it. */
		if (errno == EAGAIN) agent_timed_out();
		return 0;
	}
	struct buf req = { 0 };
	build_request(&req, config);
	for (size_t off = 0; off < req.len;) {
		if (arm(fd, deadline) < 0) agent_timed_out();
		ssize_t n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) agent_timed_out();
		/* The agent closed before it had the whole body, so it cannot have acted on it. */
		if (n < 0) return 0;
		off += (size_t)n;
	}
	struct buf in = { 0 };
	const char *why = NULL;
	int eof = 0, r;
	while ((r = parse_answer(&in, eof, a, &why)) == 0) {
		if (eof)
			fail(CNI_ERR_TRY_AGAIN, "the connection to the ctnet agent broke",
			     "%s closed after %zu bytes of the answer; the agent may have done the work; try again later", socket_path, in.len);
		if (in.len == MAX_ANSWER) fail(CNI_ERR_TRY_AGAIN, "the ctnet agent's answer is malformed", "it is larger than %u bytes", MAX_ANSWER);
		buf_reserve(&in, 4096);
		if (arm(fd, deadline) < 0) agent_timed_out();
		size_t room = in.cap - in.len > MAX_ANSWER - in.len ? MAX_ANSWER - in.len : in.cap - in.len;
		ssize_t n = recv(fd, in.data + in.len, room, 0);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) agent_timed_out();
		if (n < 0)
			fail(CNI_ERR_TRY_AGAIN, "the connection to the ctnet agent broke",
			     "recv on %s: %s; the agent may have done the work; try again later", socket_path, errno_text(errno));
		if (n == 0) eof = 1;
		in.len += (size_t)n;
	}
	if (r < 0) fail(CNI_ERR_TRY_AGAIN, "the ctnet agent's answer is malformed", "%s", why);
	if (a->status == 421) return 0;
	if (a->status != 200) {
		size_t quoted = a->body.len > MAX_QUOTED ? MAX_QUOTED : a->body.len;
		fail(CNI_ERR_TRY_AGAIN, "the ctnet agent refused the request", "%.*s: %.*s",
		     (int)a->status_len, a->status_line, (int)quoted, a->body.data ? a->body.data : "");
	}
	if (a->exit_code < 0) fail(CNI_ERR_TRY_AGAIN, "the ctnet agent's answer is malformed", "it has no Ctnet-Cni-Exit header");
	return 1;
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *command = getenv("CNI_COMMAND");
	static const char *const known[] = { "ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION" };
	int is_known = 0;
	for (size_t i = 0; command && i < sizeof known / sizeof *known; i++) is_known |= strcmp(command, known[i]) == 0;
	if (!is_known) exec_plugin(argv, NULL);

	struct buf config = { 0 };
	for (;;) {
		char chunk[65536];
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) fail(CNI_ERR_IO, "failed to read network configuration", "read from stdin: %s", errno_text(errno));
		if (n == 0) break;
		buf_add(&config, chunk, (size_t)n);
	}
	parse_config(&config);

	if (strcmp(command, "VERSION") == 0) {
		/* An empty config is '{}' to the Node plugin. */
		if (!(config.len == 0 || cfg.plain) || !container_id_ok()) exec_plugin(argv, &config);
		ignore_sigpipe();
		return answer_version();
	}
	read_timeout();
	struct answer a = { 0 };
	if (!ask_agent(&config, &a)) exec_plugin(argv, &config);
	ignore_sigpipe();
	if (a.body.len > 0 && write_all(STDOUT_FILENO, a.body.data, a.body.len) < 0) {
		fprintf(stderr, "ctnet-cni: failed to write the agent's answer: %s\n", errno_text(errno));
		return 1;
	}
	return a.exit_code;
}
