/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "note.h"

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* Append printf output to buf at *off, escaping markup in the arguments' output if asked. */
__attribute__((format(printf, 5, 6)))
static void append(char *buf, size_t len, size_t *off, bool markup, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	for (const char *p = tmp; *p && *off + 1 < len; p++) {
		const char *rep = NULL;
		if (markup && *p == '&')
			rep = "&amp;";
		else if (markup && *p == '<')
			rep = "&lt;";
		else if (markup && *p == '>')
			rep = "&gt;";
		if (rep) {
			size_t rl = strlen(rep);
			if (*off + rl + 1 > len)
				break;
			memcpy(buf + *off, rep, rl);
			*off += rl;
		} else {
			buf[(*off)++] = *p;
		}
	}
	buf[*off] = '\0';
}

static const char *title_of(const char *action)
{
	if (strcmp(action, "block") == 0 || strcmp(action, "hold") == 0)
		return "Rempart : envoi bloqué, données de santé / upload blocked, health data";
	if (strcmp(action, "kill") == 0)
		return "Rempart : programme arrêté, données de santé / program stopped, health data";
	return "Rempart : données de santé détectées / health data detected";
}

/* The rate limit held notifications back and nothing came since to say so. */
static int summary(struct json_object *o, bool markup, struct rp_note *n)
{
	int64_t count = get_int(o, "suppressed");
	size_t off = 0;

	if (count <= 0)
		return -EBADMSG;
	memset(n, 0, sizeof(*n));
	snprintf(n->action, sizeof(n->action), "summary");
	n->urgency = RP_URGENCY_NORMAL;
	snprintf(n->summary, sizeof(n->summary), "Rempart : %lld alerte(s) non affichée(s) / %lld more alert(s)",
		 (long long)count, (long long)count);
	append(n->body, sizeof(n->body), &off, markup,
	       "Trop d'alertes en peu de temps pour toutes les afficher ; le journal de Rempart les contient toutes.\n"
	       "Too many alerts at once to show them all; Rempart's log has every one.");
	return 0;
}

int rp_note_from_alert(struct json_object *o, bool markup, struct rp_note *n)
{
	const char *action, *detector, *masked, *process, *dest, *dname, *message;
	int64_t pid, suppressed, dropped;
	size_t off = 0;

	if (!o || !json_object_is_type(o, json_type_object))
		return -EBADMSG;
	action = get_str(o, "action");
	if (action && strcmp(action, "summary") == 0)
		return summary(o, markup, n);
	detector = get_str(o, "detector");
	masked = get_str(o, "masked");
	if (!action || !detector || !masked)
		return -EBADMSG;
	process = get_str(o, "process");
	dest = get_str(o, "destination");
	dname = get_str(o, "destination_name");
	message = get_str(o, "message");
	pid = get_int(o, "pid");
	suppressed = get_int(o, "suppressed");
	dropped = get_int(o, "dropped");

	memset(n, 0, sizeof(*n));
	snprintf(n->action, sizeof(n->action), "%s", action);
	n->urgency = strcmp(action, "alert") == 0 || strcmp(action, "audit") == 0 ? RP_URGENCY_NORMAL : RP_URGENCY_CRITICAL;
	snprintf(n->summary, sizeof(n->summary), "%s", title_of(action));

	if (message && *message)
		append(n->body, sizeof(n->body), &off, markup, "%s\n", message);
	append(n->body, sizeof(n->body), &off, markup, "Donnée / data: %s %s\n", detector, masked);
	append(n->body, sizeof(n->body), &off, markup, "Programme / program: %s", process && *process ? process : "?");
	if (pid > 0)
		append(n->body, sizeof(n->body), &off, markup, " (pid %lld)", (long long)pid);
	append(n->body, sizeof(n->body), &off, markup, "\nDestination: %s", dest && *dest ? dest : "?");
	if (dname && *dname)
		append(n->body, sizeof(n->body), &off, markup, " (%s)", dname);
	if (suppressed > 0)
		append(n->body, sizeof(n->body), &off, markup,
		       "\n+%lld alerte(s) non affichée(s) / more alert(s) not shown", (long long)suppressed);
	if (dropped > 0)
		append(n->body, sizeof(n->body), &off, markup,
		       "\n%lld alerte(s) perdue(s) / alert(s) lost", (long long)dropped);
	return 0;
}
