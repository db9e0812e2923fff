// plugin_get_metrics returns an array that must stay valid and unchanged
// until its caller calls again (plugin_api.h, get_metrics), and Falco calls
// it from several threads at once: its stats writer and, with Prometheus
// metrics on, its webserver. So each calling OS thread gets its own array per
// plugin state, kept in a pthread key and freed when the thread exits.

#include <pthread.h>
#include <stdlib.h>

#include "metrics_buffers.h"

// metrics_buffer is one thread's array for one plugin state; a thread's
// buffers form a list (a thread rarely serves more than one state).
typedef struct metrics_buffer {
	uintptr_t state;
	struct metrics_buffer* next;
	ss_plugin_metric metrics[];
} metrics_buffer;

static pthread_key_t buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;
static int buffers_key_ok;

static void free_buffers(void* head) {
	metrics_buffer* b = head;
	while (b) {
		metrics_buffer* next = b->next;
		free(b);
		b = next;
	}
}

static void make_buffers_key(void) {
	buffers_key_ok = pthread_key_create(&buffers_key, free_buffers) == 0;
}

// metrics_thread_buffer returns the calling thread's array of n metrics for
// state, allocated at its first call with the given names (C strings that
// live as long as the process), or NULL if memory runs out. The values are
// the caller's to fill. A state handle reused after plugin_destroy reuses
// the array, which has the same names.
ss_plugin_metric* metrics_thread_buffer(uintptr_t state, uint32_t n, char** names) {
	pthread_once(&buffers_once, make_buffers_key);
	if (!buffers_key_ok) {
		return NULL;
	}
	metrics_buffer* head = pthread_getspecific(buffers_key);
	for (metrics_buffer* b = head; b; b = b->next) {
		if (b->state == state) {
			return b->metrics;
		}
	}
	metrics_buffer* b = calloc(1, sizeof(metrics_buffer) + n * sizeof(ss_plugin_metric));
	if (!b) {
		return NULL;
	}
	b->state = state;
	for (uint32_t i = 0; i < n; i++) {
		b->metrics[i].name = names[i];
	}
	b->next = head;
	if (pthread_setspecific(buffers_key, b) != 0) {
		free(b);
		return NULL;
	}
	return b->metrics;
}
