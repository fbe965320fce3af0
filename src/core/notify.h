/* notify.h — systemd's notification protocol (sd_notify) without
 * libsystemd: datagrams to $NOTIFY_SOCKET. Every call does nothing when lbd
 * was not started by systemd (no NOTIFY_SOCKET), and never fails lbd.
 */
#ifndef LBD_NOTIFY_H
#define LBD_NOTIFY_H

/* Send STATE ("READY=1\nSTATUS=serving") as one datagram. Returns 0, or -1
 * when there is no NOTIFY_SOCKET or it cannot be reached. */
int notify_send(const char *state);

/* READY=1 with a STATUS= line saying what is serving. */
void notify_ready(unsigned long long generation);

/* RELOADING=1 and MONOTONIC_USEC=now, when a reload starts (what
 * Type=notify-reload needs); notify_ready() when it ends, accepted or not. */
void notify_reloading(void);

/* STOPPING=1 with a STATUS= line giving WHY. */
void notify_stopping(const char *why);

#endif
