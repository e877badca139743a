/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a notification says: summary (title), body and urgency, built from one alert line sent by
 * rempartd's notification socket. Bilingual (French / English), masked evidence only.
 */
#ifndef REMPART_NOTIFY_NOTE_H
#define REMPART_NOTIFY_NOTE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* org.freedesktop.Notifications urgency levels. */
enum rp_urgency {
	RP_URGENCY_LOW = 0,
	RP_URGENCY_NORMAL = 1,
	RP_URGENCY_CRITICAL = 2,
};

struct rp_note {
	enum rp_urgency urgency;
	char action[16];
	char summary[160];
	char body[2048];
};

/*
 * Fill n from an alert object. markup: escape &, < and > for servers that read the body as
 * markup (D-Bus); plain text otherwise (terminal). Returns 0, or -EBADMSG when o is not an alert.
 */
int rp_note_from_alert(struct json_object *o, bool markup, struct rp_note *n);

#endif
