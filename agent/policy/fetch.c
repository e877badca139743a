/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTPS pull of a bundle with libcurl. Only transport lives here: what comes back is untrusted
 * bytes until rp_bundle_open has verified the signature, so TLS protects availability and
 * privacy of the policy, not its integrity.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bundle_internal.h"
#include "policy_internal.h"

struct body {
	char *buf;
	size_t len, cap, max;
	bool too_big;
};

struct headers {
	char etag[RP_ETAG_MAX];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;

	if (n > b->max - b->len) {
		b->too_big = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *nb;

		while (cap < b->len + n + 1)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct headers *h = userdata;
	size_t n = size * nmemb, v;

	/* Headers of every response in a redirect chain pass here; the last ETag wins. */
	if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
		const char *p = data + 5;
		size_t len = n - 5;

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		v = len < sizeof(h->etag) ? len : 0; /* an oversized ETag is dropped, not cut */
		memcpy(h->etag, p, v);
		h->etag[v] = '\0';
	}
	return n;
}

static int map_curl_error(CURLcode c)
{
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ECONNREFUSED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		return -EKEYREJECTED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

int rp_bundle_fetch(const char *url, const char *ca_file, const char *etag_in, char *etag_out,
		    size_t etag_out_size, char **out, size_t *out_len, size_t max_bytes,
		    unsigned timeout_ms, struct rp_diag *diag)
{
	char errbuf[CURL_ERROR_SIZE] = "", inm[RP_ETAG_MAX + 32];
	struct curl_slist *hdrs = NULL;
	struct body body = {.max = max_bytes};
	struct headers h = {{0}};
	long status = 0;
	CURL *c = NULL;
	CURLcode cc;
	int r;

	if (!url || !out || !out_len || max_bytes == 0)
		return -EINVAL;
	*out = NULL;
	*out_len = 0;
	if (etag_out && etag_out_size)
		etag_out[0] = '\0';
	if (strncasecmp(url, "https://", 8) != 0) {
		rp_diag_addf(diag, "%s: only https:// URLs are fetched", url);
		return -EINVAL;
	}
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	if (etag_in && *etag_in) {
		if (strlen(etag_in) >= RP_ETAG_MAX || strpbrk(etag_in, "\r\n")) {
			rp_diag_addf(diag, "%s: invalid ETag to send", url);
			r = -EINVAL;
			goto cleanup;
		}
		snprintf(inm, sizeof(inm), "If-None-Match: %s", etag_in);
		hdrs = curl_slist_append(hdrs, inm);
		if (!hdrs) {
			r = -ENOMEM;
			goto cleanup;
		}
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file) {
		/* Pinned: only this CA file, not the system store as well. */
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 30000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 30000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM games inside the daemon */
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rempart/0.1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

	cc = curl_easy_perform(c);
	if (body.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rp_diag_addf(diag, "%s: response larger than %zu bytes", url, max_bytes);
		r = -EFBIG;
		goto cleanup;
	}
	if (cc != CURLE_OK) {
		rp_diag_addf(diag, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		r = map_curl_error(cc);
		goto cleanup;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status == 304) {
		if (etag_out && etag_out_size)
			snprintf(etag_out, etag_out_size, "%s", h.etag[0] ? h.etag : (etag_in ? etag_in : ""));
		r = 1;
		goto cleanup;
	}
	if (status != 200) {
		rp_diag_addf(diag, "%s: HTTP status %ld", url, status);
		r = -EPROTO;
		goto cleanup;
	}
	if (etag_out && etag_out_size)
		snprintf(etag_out, etag_out_size, "%s", h.etag);
	if (!body.buf) { /* empty body: give the caller a valid empty string */
		body.buf = calloc(1, 1);
		if (!body.buf) {
			r = -ENOMEM;
			goto cleanup;
		}
	}
	*out = body.buf;
	*out_len = body.len;
	body.buf = NULL;
	r = 0;
cleanup:
	free(body.buf);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}
