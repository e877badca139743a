/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bytes to JSON tree. json-c does the tokenizing; around it we add the checks that make a policy
 * unambiguous: strict JSON, valid UTF-8 (checked ourselves so the message can say where), a nesting
 * bound, and nothing but whitespace after the document.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

#define RP_JSON_MAX_DEPTH 16

static void offset_to_line_col(const char *buf, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;

	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Returns the offset of the first invalid byte, or len when the whole buffer is valid UTF-8. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/*
 * json-c's strict mode still takes single-quoted strings and a few other extensions. Outside
 * strings, standard JSON only has structure, whitespace, numbers and the three literals: anything
 * else is refused here, where we can say exactly where it is. Returns len when all is well.
 */
static size_t lexically_invalid_at(const char *buf, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		else if (!strchr(" \t\r\n{}[],:-+.0123456789eEtruefalsn", c) || c == '\0')
			return i;
	}
	return len;
}

/* One object being scanned: the keys seen so far, decoded, for a sort-and-compare at its end. */
struct key_level {
	bool is_object;
	size_t n, cap;
	struct key_ref {
		char *key;
		size_t offset;
	} *keys;
};

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	/* Ties by position so the report names the second occurrence. */
	return c ? c : (x->offset < y->offset ? -1 : x->offset > y->offset);
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* Decode a JSON string body (already known valid) so "\u0061ction" and "action" compare equal. */
static char *decode_key(const char *s, size_t len)
{
	char *out = malloc(len * 3 + 1), *o = out; /* \uXXXX (6 bytes) decodes to at most 3 */

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned cp;

		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		i++;
		switch (s[i]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			cp = i + 4 < len ? hex4(s + i + 1) : 0xfffd;
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* surrogate halves: compare as U+FFFD, never as text */
			if (cp < 0x80) {
				*o++ = (char)cp;
			} else if (cp < 0x800) {
				*o++ = (char)(0xc0 | (cp >> 6));
				*o++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*o++ = (char)(0xe0 | (cp >> 12));
				*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*o++ = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default: *o++ = s[i]; break; /* \" \\ \/ */
		}
	}
	*o = '\0';
	return out;
}

static void level_clear(struct key_level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i].key);
	free(l->keys);
	memset(l, 0, sizeof(*l));
}

/*
 * json-c keeps the last of repeated keys; other parsers keep the first or refuse. A signed policy
 * must mean one thing to every reader, so a repeated key is an error. Runs on a document json-c
 * accepted, so the scan can trust its syntax. Returns the offset of the repeated key, len if none,
 * or SIZE_MAX on allocation failure.
 */
static size_t duplicate_key_at(const char *buf, size_t len, char *dup, size_t duplen)
{
	struct key_level levels[RP_JSON_MAX_DEPTH + 2];
	int depth = -1;
	size_t found = len;

	memset(levels, 0, sizeof(levels));
	for (size_t i = 0; i < len && found == len; i++) {
		char c = buf[i];

		if (c == '{' || c == '[') {
			if (depth + 1 >= (int)(sizeof(levels) / sizeof(levels[0])))
				break; /* json-c enforces the depth; never overflow here regardless */
			depth++;
			levels[depth].is_object = c == '{';
		} else if ((c == '}' || c == ']') && depth >= 0) {
			struct key_level *l = &levels[depth];

			if (l->n > 1) {
				qsort(l->keys, l->n, sizeof(l->keys[0]), cmp_key_ref);
				for (size_t k = 1; k < l->n && found == len; k++)
					if (strcmp(l->keys[k - 1].key, l->keys[k].key) == 0) {
						found = l->keys[k].offset;
						snprintf(dup, duplen, "%s", l->keys[k].key);
					}
			}
			level_clear(l);
			depth--;
		} else if (c == '"') {
			size_t start = ++i, j;

			while (i < len && buf[i] != '"')
				i += buf[i] == '\\' ? 2 : 1;
			if (depth < 0 || !levels[depth].is_object)
				continue;
			for (j = i + 1; j < len && strchr(" \t\r\n", buf[j]); j++)
				;
			if (j < len && buf[j] == ':') {
				struct key_level *l = &levels[depth];

				if (l->n == l->cap) {
					size_t cap = l->cap ? l->cap * 2 : 16;
					struct key_ref *nk = realloc(l->keys, cap * sizeof(*nk));

					if (!nk) {
						found = SIZE_MAX;
						break;
					}
					l->keys = nk;
					l->cap = cap;
				}
				l->keys[l->n].key = decode_key(buf + start, i - start);
				l->keys[l->n].offset = start - 1;
				if (!l->keys[l->n].key) {
					found = SIZE_MAX;
					break;
				}
				l->n++;
			}
		}
	}
	for (int d = 0; d <= depth && d < (int)(sizeof(levels) / sizeof(levels[0])); d++)
		level_clear(&levels[d]);
	return found;
}

int rp_json_parse(const char *buf, size_t len, const char *origin, struct json_object **out,
		  struct rp_diag *diag)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	size_t bad, end, line, col;
	int r;

	if (!origin)
		origin = "policy";
	if (len == 0) {
		rp_diag_addf(diag, "%s: empty document", origin);
		return -EINVAL;
	}
	if (len > INT32_MAX) { /* json_tokener_parse_ex takes an int */
		rp_diag_addf(diag, "%s: document too large", origin);
		return -EFBIG;
	}
	bad = utf8_invalid_at((const unsigned char *)buf, len);
	if (bad < len) {
		offset_to_line_col(buf, bad, &line, &col);
		rp_diag_addf(diag, "%s: line %zu, column %zu (byte %zu): invalid UTF-8", origin, line,
			     col, bad);
		return -EILSEQ;
	}

	tok = json_tokener_new_ex(RP_JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* Trailing characters are allowed here only to be reported below with a clearer message. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	/*
	 * Within what json-c read (and the character it stopped at, when it failed), a
	 * non-standard extension is the better explanation.
	 */
	bad = lexically_invalid_at(buf, root ? end : (end < len ? end + 1 : len));
	if (bad < len && (root ? bad < end : bad <= end)) {
		unsigned char ch = (unsigned char)buf[bad];

		offset_to_line_col(buf, bad, &line, &col);
		if (ch >= 0x21 && ch < 0x7f)
			rp_diag_addf(diag, "%s: line %zu, column %zu: JSON syntax error: unexpected "
					   "character '%c'%s",
				     origin, line, col, ch,
				     ch == '\'' ? " (strings take double quotes)"
				     : ch == '/' ? " (JSON has no comments)" : "");
		else
			rp_diag_addf(diag, "%s: line %zu, column %zu: JSON syntax error: unexpected byte 0x%02x",
				     origin, line, col, ch);
		r = -EINVAL;
		goto cleanup;
	}
	if (!root) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		offset_to_line_col(buf, end, &line, &col);
		if (jerr == json_tokener_error_depth)
			rp_diag_addf(diag, "%s: line %zu, column %zu: nesting deeper than %d levels",
				     origin, line, col, RP_JSON_MAX_DEPTH);
		else if (jerr == json_tokener_continue)
			rp_diag_addf(diag, "%s: line %zu, column %zu: unexpected end of document",
				     origin, line, col);
		else
			rp_diag_addf(diag, "%s: line %zu, column %zu: JSON syntax error: %s", origin,
				     line, col, json_tokener_error_desc(jerr));
		r = -EINVAL;
		goto cleanup;
	}
	/*
	 * A top-level number is only complete at end of input; json-c reports it as "continue"
	 * with a half-built object, which we do not want anyway: a policy is an object.
	 */
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", buf[end]) || buf[end] == '\0') {
			offset_to_line_col(buf, end, &line, &col);
			rp_diag_addf(diag, "%s: line %zu, column %zu: trailing data after the JSON document",
				     origin, line, col);
			r = -EINVAL;
			goto cleanup;
		}
	}
	{
		char dup[128] = "";

		bad = duplicate_key_at(buf, end, dup, sizeof(dup));
		if (bad == SIZE_MAX) {
			r = -ENOMEM;
			goto cleanup;
		}
		if (bad < end) {
			offset_to_line_col(buf, bad, &line, &col);
			rp_diag_addf(diag, "%s: line %zu, column %zu: duplicate key \"%s\" in the same object",
				     origin, line, col, dup);
			r = -EINVAL;
			goto cleanup;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		rp_diag_addf(diag, "%s: the document must be a JSON object, not %s", origin,
			     json_type_to_name(json_object_get_type(root)));
		r = -EINVAL;
		goto cleanup;
	}
	*out = root;
	root = NULL;
	r = 0;
cleanup:
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}
