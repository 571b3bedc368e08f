/*
 * Example plugin in C (no libc), for the `eligible` hook of a checkout touchpoint: a unit
 * takes part when its cart total reaches the binding's `min_cart` and its country is in the
 * binding's `countries` list.
 *
 *   binding config: {"countries": ["DE", "FR"], "min_cart": 20}
 *   attributes:     {"country": "DE", "cart_total": 32.5}
 *
 * Built by scripts/build-plugins.sh with Debian's clang + lld (see ABI.md, "C"):
 *   clang --target=wasm32 -nostdlib -Os -Wl,--no-entry -Wl,-z,stack-size=16384 \
 *         -Wl,--export-dynamic -o checkout-eligibility.wasm checkout-eligibility.c
 *
 * It reads the input JSON with a small scanner that relies on what ABI.md promises about the
 * encoding (compact, keys in a fixed order, strings escaped only where JSON requires), and
 * answers {"ok": {"<experiment>": true|false, ...}} for every experiment it was asked about.
 */

typedef unsigned int u32;
typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(name)))

__attribute__((import_module("touchstone"), import_name("log")))
void touchstone_log(int level, const char *ptr, int len);

/* ---- memory: a bump allocator over the heap; the instance is thrown away after a request ---- */

extern unsigned char __heap_base;
static u32 heap_top;

static void *bump(u32 len) {
    if (heap_top == 0) heap_top = (u32)&__heap_base;
    u32 start = (heap_top + 7u) & ~7u;
    u32 end = start + len;
    u32 have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        u32 pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (u32)-1) return 0;
    }
    heap_top = end;
    return (void *)start;
}

/* The host writes the input here. Returning 0 tells the host the allocation failed. */
EXPORT("touchstone_alloc") u32 touchstone_alloc(u32 len) { return (u32)bump(len); }

/* Built for ABI 1.1 (major * 100 + minor): this plugin does not assume zeroed memory. */
EXPORT("touchstone_abi_version") int touchstone_abi_version(void) { return 101; }

/* clang may emit calls to these even with -nostdlib. */
void *memcpy(void *dst, const void *src, unsigned long n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}
void *memset(void *dst, int c, unsigned long n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

static void log_line(int level, const char *text) {
    int len = 0;
    while (text[len]) len++;
    touchstone_log(level, text, len);
}

/* ---- a JSON scanner over [at, end) ---- */

typedef struct { const char *at; const char *end; } Cursor;
typedef struct { const char *start; u32 len; } Slice; /* raw token, quotes included for strings */

static int peek(Cursor *c) { return c->at < c->end ? *c->at : -1; }

static void skip_ws(Cursor *c) {
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\n' || *c->at == '\r' || *c->at == '\t'))
        c->at++;
}

/* Skips one string (cursor on its opening quote); returns 0 if unterminated. */
static int skip_string(Cursor *c) {
    c->at++;
    while (c->at < c->end) {
        char ch = *c->at++;
        if (ch == '\\') c->at++;
        else if (ch == '"') return 1;
    }
    return 0;
}

/* Skips any value; returns 0 on malformed input. */
static int skip_value(Cursor *c) {
    skip_ws(c);
    int ch = peek(c);
    if (ch == '"') return skip_string(c);
    if (ch == '{' || ch == '[') {
        int depth = 0;
        while (c->at < c->end) {
            ch = *c->at;
            if (ch == '"') { if (!skip_string(c)) return 0; continue; }
            if (ch == '{' || ch == '[') depth++;
            if (ch == '}' || ch == ']') { depth--; if (depth == 0) { c->at++; return 1; } }
            c->at++;
        }
        return 0;
    }
    const char *start = c->at;
    while (c->at < c->end && *c->at != ',' && *c->at != '}' && *c->at != ']') c->at++;
    return c->at > start;
}

static int slice_is(Slice s, const char *quoted) {
    u32 i = 0;
    for (; quoted[i]; i++)
        if (i >= s.len || s.start[i] != quoted[i]) return 0;
    return i == s.len;
}

static int slices_equal(Slice a, Slice b) {
    if (a.len != b.len) return 0;
    for (u32 i = 0; i < a.len; i++)
        if (a.start[i] != b.start[i]) return 0;
    return 1;
}

/* Walks an object's members from the cursor — on its '{', or right after one of its values —
 * and, for each of the `n` keys (given with their quotes), leaves the cursor on its value in
 * values[i] and sets found[i]. Stops on the value of keys[stop_at] (returns 2, the cursor left
 * there), else after the closing '}' (returns 1, the cursor after it); 0 when malformed. A
 * walk crosses every byte of the object once: at 50 attributes of 256 bytes the input is
 * 26 KB, and every pass over it costs fuel. */
static int walk_members(Cursor *cursor, const char *const *keys, int n, Cursor *values, int *found,
                        int stop_at) {
    Cursor c = *cursor;
    skip_ws(&c);
    if (peek(&c) == '{' || peek(&c) == ',') {
        int opening = peek(&c) == '{';
        c.at++;
        skip_ws(&c);
        if (opening && peek(&c) == '}') { c.at++; *cursor = c; return 1; }
    } else if (peek(&c) == '}') {
        c.at++;
        *cursor = c;
        return 1;
    } else {
        return 0;
    }
    for (;;) {
        skip_ws(&c);
        if (peek(&c) != '"') return 0;
        Slice name = { c.at, 0 };
        if (!skip_string(&c)) return 0;
        name.len = (u32)(c.at - name.start);
        skip_ws(&c);
        if (peek(&c) != ':') return 0;
        c.at++;
        skip_ws(&c);
        for (int i = 0; i < n; i++) {
            if (!found[i] && slice_is(name, keys[i])) {
                values[i] = c;
                found[i] = 1;
                if (i == stop_at) { *cursor = c; return 2; }
            }
        }
        if (!skip_value(&c)) return 0;
        skip_ws(&c);
        if (peek(&c) == '}') { c.at++; *cursor = c; return 1; }
        if (peek(&c) != ',') return 0;
        c.at++;
    }
}

/* A JSON number: sign, digits, fraction, exponent. Returns 0 if the value is not a number. */
static int read_number(Cursor c, double *out) {
    double value = 0, scale = 1;
    int negative = 0, digits = 0;
    if (peek(&c) == '-') { negative = 1; c.at++; }
    while (peek(&c) >= '0' && peek(&c) <= '9') { value = value * 10 + (*c.at++ - '0'); digits++; }
    if (peek(&c) == '.') {
        c.at++;
        while (peek(&c) >= '0' && peek(&c) <= '9') { scale /= 10; value += (*c.at++ - '0') * scale; digits++; }
    }
    if (peek(&c) == 'e' || peek(&c) == 'E') {
        c.at++;
        int exp_negative = 0, exponent = 0;
        if (peek(&c) == '-' || peek(&c) == '+') exp_negative = *c.at++ == '-';
        while (peek(&c) >= '0' && peek(&c) <= '9') exponent = exponent * 10 + (*c.at++ - '0');
        while (exponent-- > 0) value = exp_negative ? value / 10 : value * 10;
    }
    *out = negative ? -value : value;
    return digits > 0;
}

static Slice read_string_token(Cursor c) {
    Slice s = { c.at, 0 };
    if (peek(&c) == '"' && skip_string(&c)) s.len = (u32)(c.at - s.start);
    return s;
}

/* Whether `needle` (a raw string token) is one of the strings of the array under the cursor. */
static int array_contains(Cursor c, Slice needle) {
    if (peek(&c) != '[') return 0;
    c.at++;
    for (;;) {
        skip_ws(&c);
        if (peek(&c) == '"') {
            Slice item = read_string_token(c);
            if (item.len == 0) return 0;
            if (slices_equal(item, needle)) return 1;
            c.at += item.len;
        } else if (!skip_value(&c)) {
            return 0;
        }
        skip_ws(&c);
        if (peek(&c) != ',') return 0;
        c.at++;
    }
}

/* ---- the answer ---- */

typedef struct { char *buf; u32 len; u32 cap; } Out;

static void put(Out *o, const char *bytes, u32 len) {
    for (u32 i = 0; i < len && o->len < o->cap; i++) o->buf[o->len++] = bytes[i];
}
static void put_text(Out *o, const char *text) {
    u32 len = 0;
    while (text[len]) len++;
    put(o, text, len);
}

static u64 packed(Out *o) { return ((u64)(u32)o->buf << 32) | o->len; }

static u64 error_answer(const char *message) {
    static char buf[256];
    Out o = { buf, 0, sizeof buf };
    put_text(&o, "{\"error\":\"");
    put_text(&o, message);
    put_text(&o, "\"}");
    return packed(&o);
}

static const char *const TOP_KEYS[] = { "\"experiments\"", "\"attributes\"", "\"config\"" };
static const char *const CONFIG_KEYS[] = { "\"min_cart\"", "\"countries\"" };
static const char *const ATTRIBUTE_KEYS[] = { "\"cart_total\"", "\"country\"" };

EXPORT("eligible") u64 eligible(const char *ptr, u32 len) {
    Cursor input = { ptr, ptr + len };
    Cursor top[3], config[2], attributes[2];
    int has_top[3] = { 0 }, has_config[2] = { 0 }, has_attribute[2] = { 0 };
    /* One pass over the input: the top level up to `attributes` (ABI.md fixes the order:
     * unit_id, touchpoint, experiments, attributes, config), the attributes, then the rest. */
    Cursor walk = input;
    int walked = walk_members(&walk, TOP_KEYS, 3, top, has_top, 1);
    if (walked == 2) {
        if (walk_members(&walk, ATTRIBUTE_KEYS, 2, attributes, has_attribute, -1) != 1 ||
            walk_members(&walk, TOP_KEYS, 3, top, has_top, -1) != 1)
            return error_answer("the input is not the eligible context");
    } else if (walked != 1) {
        return error_answer("the input is not a JSON object");
    }
    Cursor config_object = top[2];
    if (!has_top[2] || peek(&config_object) != '{' ||
        walk_members(&config_object, CONFIG_KEYS, 2, config, has_config, -1) != 1)
        return error_answer("bind the touchpoint with a config: {\\\"countries\\\": [...], \\\"min_cart\\\": number}");
    double min_cart = 0;
    if (!has_config[0] || !read_number(config[0], &min_cart))
        return error_answer("config.min_cart must be a number");
    if (!has_config[1] || peek(&config[1]) != '[')
        return error_answer("config.countries must be a list of country codes");

    int is_eligible = 0;
    if (has_top[1]) {
        double cart = 0;
        int has_cart = has_attribute[0] && read_number(attributes[0], &cart);
        int has_country = has_attribute[1] && peek(&attributes[1]) == '"';
        if (!has_cart) log_line(4, "no numeric cart_total attribute: not eligible");
        is_eligible = has_cart && has_country && cart >= min_cart &&
                      array_contains(config[1], read_string_token(attributes[1]));
    }

    Cursor experiments = top[0];
    if (!has_top[0] || peek(&experiments) != '[')
        return error_answer("the input has no experiments list");
    /* Each experiment key appears once in the answer: its raw token, then :true or :false. */
    Out o = { bump(len + 16), 0, len + 16 };
    if (!o.buf) return error_answer("out of memory");
    put_text(&o, "{\"ok\":{");
    Cursor c = experiments;
    c.at++;
    int first = 1;
    for (;;) {
        skip_ws(&c);
        if (peek(&c) != '"') break;
        Slice key = read_string_token(c);
        if (key.len == 0) return error_answer("malformed experiments list");
        if (!first) put_text(&o, ",");
        first = 0;
        put(&o, key.start, key.len);
        put_text(&o, is_eligible ? ":true" : ":false");
        c.at += key.len;
        skip_ws(&c);
        if (peek(&c) != ',') break;
        c.at++;
    }
    put_text(&o, "}}");
    return packed(&o);
}
