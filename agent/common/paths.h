/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where things live by default. Every one can be overridden on the command line. */
#ifndef REMPART_PATHS_H
#define REMPART_PATHS_H

#define RP_VERSION "0.1.0"
#define RP_DEFAULT_SOCKET "/run/rempart/control.sock"
#define RP_DEFAULT_NOTIFY_SOCKET "/run/rempart/notify.sock"
#define RP_DEFAULT_POLICY "/etc/rempart/policy.json"
#define RP_DEFAULT_ALERTS "/var/log/rempart/alerts.jsonl"
#define RP_DEFAULT_STATE_DIR "/var/lib/rempart"
#define RP_DEFAULT_KEYS_DIR "/etc/rempart/keys"
#define RP_DEFAULT_SPOOL_DIR "/var/lib/rempart/spool"
#define RP_BUNDLED_POLICY "/usr/share/rempart/default.json"

#endif
