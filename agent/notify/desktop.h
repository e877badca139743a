/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Show a note through org.freedesktop.Notifications on the user's session bus (sd-bus). The bus
 * connection is opened on first use and reopened after an error, so a session bus that comes up
 * after the notifier, or restarts, is picked up.
 */
#ifndef REMPART_NOTIFY_DESKTOP_H
#define REMPART_NOTIFY_DESKTOP_H

#include <stdint.h>

#include "note.h"

struct rp_desktop;

int rp_desktop_new(struct rp_desktop **out);
void rp_desktop_free(struct rp_desktop *d); /* NULL-safe */
/*
 * Returns the notification id the server gave, or a negative errno; err (if given) receives the
 * D-Bus error text.
 */
int rp_desktop_show(struct rp_desktop *d, const struct rp_note *n, char *err, size_t errlen);

#endif
