/* io.h — speculative writes on bufferevents.
 *
 * libevent's socket bufferevent writes on the next loop iteration: it adds
 * write interest when data is queued and removes it once the buffer is
 * empty, two epoll_ctl() calls per response on each side. lbd keeps write
 * interest off while a connection keeps up, writes queued bytes at once
 * (as HAProxy does), and lets libevent take over only when the socket is
 * full: io_flush() after queueing, io_written() in the write callback.
 */
#ifndef LBD_IO_H
#define LBD_IO_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

struct bufferevent;
struct event_base;

/* Write what BEV's output holds now; what the socket does not take is
 * left to libevent (write interest on). Returns true when all is out. A
 * TLS bufferevent writes (SSL_write) later in this same loop pass, from
 * its write event run at once (io.c), and this returns false: its write
 * callback reports the end. */
bool io_flush(struct bufferevent *bev);

/* From the write callback: turn write interest off again once the output
 * is empty. Returns true when it is. */
bool io_written(struct bufferevent *bev);

/* Set the write timeout of BEV, whose reading is not its own (an
 * io_reader's, or off) and so has no read timeout. bufferevent_set_timeouts()
 * takes the base lock twice even when nothing changes; this leaves it out
 * when the timeout stays the same and BEV is not writing, where the call
 * would do nothing else, and when a plain BEV is not writing, where it
 * would only set the fields. */
void io_write_timeout(struct bufferevent *bev, const struct timeval *tv);

/* Reading for the HTTP connections. libevent's socket bufferevent asks the
 * kernel how much is readable (ioctl FIONREAD) before every read and reads
 * at most 4 KiB at a time; an io_reader does one recv() of up to
 * IO_READ_SIZE into the bufferevent's input instead, so a request costs one
 * read per side as with HAProxy. The bufferevent still owns the socket and
 * does the writing; its own reading stays off while a reader is in use. */
#define IO_READ_SIZE (64 * 1024)

typedef void (*io_read_fn)(void *arg);
/* A parked reader's bytes arrived: give it a bufferevent (io_reader_wake())
 * and return 0, or return -1 when the owner freed the reader instead. */
typedef int (*io_wake_fn)(void *arg);
/* WHAT: BEV_EVENT_READING with BEV_EVENT_EOF, _ERROR or _TIMEOUT. Reading
 * is already off when it is called. */
typedef void (*io_event_fn)(short what, void *arg);

/* A TLS connection's bufferevent (bufferevent_openssl) has to do its own
 * reading, through SSL_read: its reader only turns that reading on and off
 * and keeps the timeout, and the bufferevent's read callback must call
 * io_reader_tls_readable(). Its buffer bound is the bufferevent's read
 * watermark.
 *
 * The read timeout is a deadline kept here, as HAProxy keeps its task
 * expiry dates, and a timer of its own (the bufferevent's read timeout is
 * shared with the code that sets write timeouts). Requests move the
 * deadline all the time (a byte arriving, a new phase with another
 * timeout), mostly later; libevent cannot move a timer later without an
 * event_add(), but a timer may fire early: it is re-armed for the rest of
 * the time then. The timer is armed anew only when the deadline comes
 * before it, or when none is pending. */
struct io_reader {
	struct event *ev;        /* plain: reading (read_ev); NULL for TLS */
	struct event read_ev;    /* in place: no allocation a connection */
	struct event *timer;     /* fires at timer_at, at the latest at deadline;
			      * a plain reader's is made on first use */
	struct bufferevent *bev; /* NULL while parked */
	io_wake_fn on_wake;      /* while parked */
	io_read_fn on_read;
	io_event_fn on_event;
	void *arg;
	uint64_t timeout_us; /* 0: none */
	uint64_t deadline;   /* monotonic_us() the timeout expires at, while counting */
	uint64_t timer_at;   /* when the timer fires; 0: not pending */
	bool on;             /* reading wanted */
	bool full;           /* paused: the input holds high_water bytes */
	bool reading;        /* ev is pending */
	bool tls;
	bool timer_failed; /* no memory for it: ev reports the error */
	size_t high_water;
};

/* Read BEV's socket (it must have one) into its input, at most HIGH_WATER
 * bytes buffered (0: no bound). Reading starts off. Returns 0 or -1. */
int io_reader_init(struct io_reader *r, struct event_base *base, struct bufferevent *bev,
		   size_t high_water, io_read_fn on_read, io_event_fn on_event, void *arg);
void io_reader_callbacks(struct io_reader *r, io_read_fn on_read, io_event_fn on_event, void *arg);
void io_reader_set(struct io_reader *r, bool on);
/* Time allowed without a byte while reading; NULL for none. */
void io_reader_timeout(struct io_reader *r, const struct timeval *tv);
/* Call after the consumer drained the input: reading resumes if it paused
 * because the input was full. */
void io_reader_drained(struct io_reader *r);
void io_reader_free(struct io_reader *r);

/* A plain reader that reads on without a bufferevent: its owner gave the
 * (empty) bufferevent away. Reading stays as it is (the event stays
 * pending, no system call); the next bytes call WAKE first. */
void io_reader_park(struct io_reader *r, io_wake_fn wake);
/* From the wake callback: BEV (on the same socket) takes the reading. */
void io_reader_wake(struct io_reader *r, struct bufferevent *bev);

/* From a TLS bufferevent's read callback: bytes arrived in its input. */
void io_reader_tls_readable(struct io_reader *r);

/* Move the plain socket bufferevent BEV, neither reading nor writing (its
 * events are not pending), to the socket FD (-1: none; it then closes
 * nothing when freed). bufferevent_setfd() does the same with two
 * event_del() calls under the base lock and more: about 600 instructions
 * against a few, on every new connection and wake of a parked one. */
void io_bev_move(struct bufferevent *bev, int fd);

/* Clear the timeouts of BEV, neither reading nor writing: what
 * bufferevent_set_timeouts() does then, without its lock and its walk
 * over events that are not pending (some 280 instructions). */
void io_bev_clear_timeouts(struct bufferevent *bev);

/* libevent's socket bufferevent keeps a callback on its output that adds
 * write interest when bytes are queued while writing is on and its event
 * is not pending. Written the io.h way, a plain bufferevent never stays
 * in that state (io_flush() turns writing on with bytes queued; libevent
 * drops the event only once all is out, and io_written() then turns
 * writing off), so the callback finds nothing to do on every add, drain
 * and write: some 90 instructions each, 5 a request. io_bev_quiet()
 * removes it from BEV (plain); io_bev_loud() gives BEV (plain) one that
 * does the same job, for code that writes through libevent (a tunnel),
 * and returns 0, or -1 without memory. */
void io_bev_quiet(struct bufferevent *bev);
int io_bev_loud(struct bufferevent *bev);

/* The socket of the plain socket bufferevent BEV: its events'.
 * bufferevent_getfd() asks through the bufferevent's control call, under
 * its lock. */
int io_bev_fd(struct bufferevent *bev);

/* Whether BEV is a TLS bufferevent. */
bool io_is_tls(struct bufferevent *bev);

#endif
