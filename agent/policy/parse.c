/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bytes to JSON tree. json-c does the tokenizing; around it we add the checks that make a policy
 * unambiguous: strict JSON, valid UTF-8 (checked ourselves so the message can say where), a nesting
 * bound, and nothing but whitespace after the document.
 */
#include <errno.h>
#include <json-c/json.h>
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
