/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "desktop.h"

#define NOTIFY_SERVICE "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define NOTIFY_IFACE "org.freedesktop.Notifications"
#define CALL_TIMEOUT_US (5 * 1000000ull)

struct rp_desktop {
	sd_bus *bus;
};

int rp_desktop_new(struct rp_desktop **out)
{
	struct rp_desktop *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	*out = d;
	return 0;
}

void rp_desktop_free(struct rp_desktop *d)
{
	if (!d)
		return;
	sd_bus_flush_close_unref(d->bus);
	free(d);
}

static int build_call(sd_bus *bus, const struct rp_note *n, sd_bus_message **out)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, NOTIFY_SERVICE, NOTIFY_PATH, NOTIFY_IFACE, "Notify");
	if (r < 0)
		return r;
	/* app_name, replaces_id, app_icon, summary, body */
	r = sd_bus_message_append(m, "susss", "Rempart", (uint32_t)0,
				  n->urgency == RP_URGENCY_CRITICAL ? "dialog-error" : "dialog-warning", n->summary,
				  n->body);
	if (r < 0)
		goto fail;
	r = sd_bus_message_append(m, "as", 0); /* no actions */
	if (r < 0)
		goto fail;
	r = sd_bus_message_append(m, "a{sv}", 3, "urgency", "y", (uint8_t)n->urgency, "category", "s",
				  "x-rempart.dlp", "desktop-entry", "s", "rempart-notify");
	if (r < 0)
		goto fail;
	/* Critical notes stay until dismissed; others follow the server's default. */
	r = sd_bus_message_append(m, "i", n->urgency == RP_URGENCY_CRITICAL ? 0 : -1);
	if (r < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	sd_bus_message_unref(m);
	return r;
}

int rp_desktop_show(struct rp_desktop *d, const struct rp_note *n, char *err, size_t errlen)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *call = NULL, *reply = NULL;
	uint32_t id = 0;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!d->bus) {
		r = sd_bus_open_user(&d->bus);
		if (r < 0) {
			d->bus = NULL;
			if (err)
				snprintf(err, errlen, "cannot connect to the session bus: %s", strerror(-r));
			return r;
		}
	}
	r = build_call(d->bus, n, &call);
	if (r >= 0)
		r = sd_bus_call(d->bus, call, CALL_TIMEOUT_US, &error, &reply);
	if (r >= 0)
		r = sd_bus_message_read(reply, "u", &id);
	if (r < 0) {
		if (err)
			snprintf(err, errlen, "Notify failed: %s", error.message ? error.message : strerror(-r));
		/* Start afresh next time: the bus may have gone away with the session. */
		d->bus = sd_bus_flush_close_unref(d->bus);
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(call);
	return r < 0 ? r : (int)(id & 0x7fffffff);
}
