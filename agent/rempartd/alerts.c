/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Alerts: one JSON line per alert in the OCSF "Data Security Finding" shape (class_uid 2006), ready
 * for Filebeat / Fluent Bit / Vector; a short human line on stderr; a journald record with a fixed
 * MESSAGE_ID. Only masked evidence is ever written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-journal.h>

#include "daemon.h"
#include "paths.h"

/* journalctl MESSAGE_ID=... finds every Rempart alert. */
#define RP_ALERT_MESSAGE_ID "5b0e1c2f6a9d4e07b8c3a1d2e4f60718"

struct rp_alert_sink {
	int fd;
	bool to_stderr;
	bool to_journal;
	uint64_t emitted;
	uint64_t errors;
	uint64_t seq;
};

void rp_alert_from_verdict(struct rp_alert *a, const struct rp_policy *p, const struct rp_verdict *v)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*a = (struct rp_alert){
		.time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
		.action = v->action,
		.rule_id = v->rule_id,
		.message = v->message,
		.policy_name = rp_policy_name(p),
		.policy_serial = rp_policy_serial(p),
		.engine = rp_policy_engine(p),
		.destination = v->destination,
		.destination_approved = v->destination_approved,
		.enforcement = "none",
	};
}

int rp_alert_sink_open(const char *path, bool to_stderr, bool to_journal, struct rp_alert_sink **out)
{
	struct rp_alert_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	if (path) {
		s->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (s->fd < 0) {
			int r = -errno;
			free(s);
			return r;
		}
	}
	s->to_stderr = to_stderr;
	s->to_journal = to_journal;
	*out = s;
	return 0;
}

void rp_alert_sink_free(struct rp_alert_sink *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

uint64_t rp_alert_sink_count(const struct rp_alert_sink *s)
{
	return s ? s->emitted : 0;
}

uint64_t rp_alert_sink_errors(const struct rp_alert_sink *s)
{
	return s ? s->errors : 0;
}

static const char *source_name(uint8_t s)
{
	switch (s) {
	case RP_SRC_OPENSSL:
		return "openssl";
	case RP_SRC_GNUTLS:
		return "gnutls";
	case RP_SRC_NSPR:
		return "nspr";
	case RP_SRC_TCP:
		return "tcp";
	case RP_SRC_GO:
		return "go";
	default:
		return "unknown";
	}
}

static void format_addr(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (family == AF_INET)
		inet_ntop(AF_INET, addr, buf, (socklen_t)len);
	else if (family == AF_INET6)
		inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "unknown");
}

/* OCSF severity: informational for audit, medium for alert, high for block/hold, critical for kill. */
static int severity_of(enum rp_action a)
{
	switch (a) {
	case RP_ACTION_AUDIT:
		return 1;
	case RP_ACTION_ALERT:
		return 3;
	case RP_ACTION_BLOCK:
	case RP_ACTION_HOLD:
		return 4;
	case RP_ACTION_KILL:
		return 5;
	default:
		return 0;
	}
}

static struct json_object *build_json(const struct rp_alert_sink *s, const struct rp_alert *a, const char *dst_ip)
{
	struct json_object *o = json_object_new_object(), *meta, *product, *fi, *types, *proc, *file,
			   *user, *actor, *dst, *ds, *pol, *rp, *counts, *flow;
	const struct rp_flow_identity *id = a->id;
	bool denied = a->action >= RP_ACTION_BLOCK;
	char uid[48];

	if (!o)
		return NULL;
	snprintf(uid, sizeof(uid), "%d-%llu-%llu", (int)getpid(), (unsigned long long)a->time_ms,
		 (unsigned long long)s->seq);

	json_object_object_add(o, "class_uid", json_object_new_int(2006));
	json_object_object_add(o, "class_name", json_object_new_string("Data Security Finding"));
	json_object_object_add(o, "category_uid", json_object_new_int(2));
	json_object_object_add(o, "activity_id", json_object_new_int(1));
	json_object_object_add(o, "type_uid", json_object_new_int(200601));
	json_object_object_add(o, "time", json_object_new_int64((int64_t)a->time_ms));
	json_object_object_add(o, "severity_id", json_object_new_int(severity_of(a->action)));
	json_object_object_add(o, "action", json_object_new_string(denied ? "Denied" : "Allowed"));
	json_object_object_add(o, "action_id", json_object_new_int(denied ? 2 : 1));

	meta = json_object_new_object();
	product = json_object_new_object();
	json_object_object_add(product, "name", json_object_new_string("Rempart"));
	json_object_object_add(product, "vendor_name", json_object_new_string("Rempart"));
	json_object_object_add(product, "version", json_object_new_string(RP_VERSION));
	json_object_object_add(meta, "product", product);
	json_object_object_add(meta, "version", json_object_new_string("1.1.0"));
	json_object_object_add(o, "metadata", meta);

	fi = json_object_new_object();
	json_object_object_add(fi, "uid", json_object_new_string(uid));
	json_object_object_add(fi, "title", json_object_new_string(a->message ? a->message : "Health data in outbound traffic"));
	types = json_object_new_array();
	json_object_array_add(types, json_object_new_string(a->finding ? a->finding->id : "unknown"));
	json_object_object_add(fi, "types", types);
	json_object_object_add(o, "finding_info", fi);

	proc = json_object_new_object();
	json_object_object_add(proc, "pid", json_object_new_int64(id->pid));
	json_object_object_add(proc, "tid", json_object_new_int64(id->tid));
	json_object_object_add(proc, "name", json_object_new_string(id->comm));
	file = json_object_new_object();
	json_object_object_add(file, "path", json_object_new_string(a->exe ? a->exe : ""));
	json_object_object_add(proc, "file", file);
	user = json_object_new_object();
	{
		char ubuf[16];
		snprintf(ubuf, sizeof(ubuf), "%u", id->uid);
		json_object_object_add(user, "uid", json_object_new_string(ubuf));
	}
	json_object_object_add(user, "name", json_object_new_string(a->user ? a->user : ""));
	json_object_object_add(proc, "user", user);
	actor = json_object_new_object();
	json_object_object_add(actor, "process", proc);
	json_object_object_add(o, "actor", actor);

	dst = json_object_new_object();
	json_object_object_add(dst, "ip", json_object_new_string(dst_ip));
	json_object_object_add(dst, "port", json_object_new_int(id->rport));
	if (a->destination)
		json_object_object_add(dst, "name", json_object_new_string(a->destination));
	if (a->host)
		json_object_object_add(dst, "hostname", json_object_new_string(a->host));
	json_object_object_add(o, "dst_endpoint", dst);

	ds = json_object_new_object();
	json_object_object_add(ds, "detection_system", json_object_new_string("Rempart endpoint agent"));
	json_object_object_add(ds, "pattern_match", json_object_new_string(a->finding ? a->finding->masked : ""));
	pol = json_object_new_object();
	json_object_object_add(pol, "name", json_object_new_string(a->policy_name ? a->policy_name : ""));
	json_object_object_add(pol, "version", json_object_new_int64((int64_t)a->policy_serial));
	json_object_object_add(ds, "policy", pol);
	json_object_object_add(o, "data_security", ds);

	/* Rempart's own flat view: what tests, scripts and humans read first. */
	rp = json_object_new_object();
	json_object_object_add(rp, "action", json_object_new_string(rp_action_name(a->action)));
	json_object_object_add(rp, "rule", json_object_new_string(a->rule_id ? a->rule_id : ""));
	json_object_object_add(rp, "detector", json_object_new_string(a->finding ? a->finding->id : ""));
	json_object_object_add(rp, "masked", json_object_new_string(a->finding ? a->finding->masked : ""));
	json_object_object_add(rp, "confidence", json_object_new_double(a->finding ? a->finding->confidence : 0));
	json_object_object_add(rp, "enforcement", json_object_new_string(a->enforcement ? a->enforcement : "none"));
	json_object_object_add(rp, "destination_approved", json_object_new_boolean(a->destination_approved));
	if (a->tenant || a->tenant_domain) {
		struct json_object *t = json_object_new_object();
		if (a->tenant)
			json_object_object_add(t, "id", json_object_new_string(a->tenant));
		if (a->tenant_domain)
			json_object_object_add(t, "domain", json_object_new_string(a->tenant_domain));
		json_object_object_add(rp, "tenant", t);
	}
	counts = json_object_new_object();
	if (a->engine && a->counts) {
		unsigned n = rp_engine_detector_count(a->engine);
		for (unsigned i = 0; i < n; i++)
			if (a->counts[i])
				json_object_object_add(counts, rp_engine_detector_id(a->engine, i),
						       json_object_new_int64(a->counts[i]));
	}
	json_object_object_add(rp, "counts", counts);
	flow = json_object_new_object();
	json_object_object_add(flow, "source", json_object_new_string(source_name(id->source)));
	json_object_object_add(flow, "socket_cookie", json_object_new_uint64(id->sock_cookie));
	json_object_object_add(flow, "capture_gap", json_object_new_boolean(a->flow_had_gap));
	json_object_object_add(rp, "flow", flow);
	json_object_object_add(o, "rempart", rp);
	return o;
}

int rp_alert_emit(struct rp_alert_sink *s, const struct rp_alert *a)
{
	char dst_ip[INET6_ADDRSTRLEN];
	struct json_object *o;
	const char *line;
	int r = 0;

	s->seq++;
	format_addr(a->id->family, a->id->raddr, dst_ip, sizeof(dst_ip));
	o = build_json(s, a, dst_ip);
	if (!o) {
		s->errors++;
		return -ENOMEM;
	}
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s->fd >= 0) {
		/* One write per line with O_APPEND: lines never interleave, a reader never sees half. */
		size_t len = strlen(line);
		char *buf = malloc(len + 1);
		if (buf) {
			memcpy(buf, line, len);
			buf[len] = '\n';
			if (write(s->fd, buf, len + 1) != (ssize_t)(len + 1))
				r = -EIO;
			free(buf);
		} else {
			r = -ENOMEM;
		}
	}
	if (s->to_stderr)
		fprintf(stderr, "rempartd: %s %s [%s] %s pid=%u comm=%s uid=%u dst=%s:%u rule=%s\n",
			rp_action_name(a->action), a->finding ? a->finding->id : "?",
			a->finding ? a->finding->masked : "", a->exe ? a->exe : "", a->id->pid, a->id->comm,
			a->id->uid, dst_ip, a->id->rport, a->rule_id ? a->rule_id : "-");
	if (s->to_journal)
		(void)sd_journal_send("MESSAGE=rempart %s: %s in data sent by %s (pid %u) to %s:%u",
				      rp_action_name(a->action), a->finding ? a->finding->id : "?", a->id->comm,
				      a->id->pid, dst_ip, a->id->rport,
				      "MESSAGE_ID=" RP_ALERT_MESSAGE_ID, "PRIORITY=%d", a->action >= RP_ACTION_BLOCK ? 3 : 4,
				      "REMPART_DETECTOR=%s", a->finding ? a->finding->id : "",
				      "REMPART_MASKED=%s", a->finding ? a->finding->masked : "",
				      "REMPART_ACTION=%s", rp_action_name(a->action),
				      "REMPART_RULE=%s", a->rule_id ? a->rule_id : "",
				      "REMPART_PID=%u", a->id->pid, NULL);
	json_object_put(o);
	if (r < 0)
		s->errors++;
	else
		s->emitted++;
	return r;
}
