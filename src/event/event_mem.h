/* event_mem.h — libevent's memory, with per-thread spares of its buffer
 * chains.
 *
 * An evbuffer frees a chain as soon as it is drained and allocates a new
 * one for the next bytes: four chains a keep-alive request (the request
 * read, the head written to the server, the response read, the head
 * written to the client), each a power of two from 1 KiB to 128 KiB (a
 * 64 KiB read asks for 128 KiB with the chain's header). glibc serves
 * these past its per-thread cache, some 260 instructions a malloc and
 * free pair, and may trim the heap on the free of a large one. libevent
 * takes its memory through replaceable functions: lbd keeps a few freed
 * blocks of each of those sizes per thread and hands them out again.
 * Everything else goes to malloc() as before.
 */
#ifndef LBD_EVENT_MEM_H
#define LBD_EVENT_MEM_H

/* Route libevent's allocations through the spares. Call before any other
 * libevent function, once per process. */
void event_mem_init(void);

/* Free the calling thread's spares (a worker thread's go when it ends). */
void event_mem_release(void);

#endif
