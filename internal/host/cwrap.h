// C side of package host: the table of plugin entry points resolved with
// dlsym, and one tiny wrapper per entry point, because cgo cannot call C
// function pointers directly.
//
// Plugin state and instance handles travel as uintptr_t rather than pointers:
// plugins written with plugin-sdk-go return small integers (cgo.Handle values)
// cast to pointers, which must never be stored in Go pointer-typed variables.

#pragma once

#include <stdint.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "plugin_api.h"

// host_api holds the plugin_* symbols of one loaded library. Optional symbols
// the library does not export are NULL.
typedef struct host_api {
	// required
	const char* (*get_required_api_version)(void);
	const char* (*get_version)(void);
	const char* (*get_name)(void);
	const char* (*get_description)(void);
	const char* (*get_contact)(void);
	uint32_t (*get_id)(void);
	const char* (*get_event_source)(void);
	const char* (*get_fields)(void);
	const char* (*get_last_error)(ss_plugin_t* s);
	ss_plugin_t* (*init)(const ss_plugin_init_input* in, ss_plugin_rc* rc);
	void (*destroy)(ss_plugin_t* s);
	ss_instance_t* (*open)(ss_plugin_t* s, const char* params, ss_plugin_rc* rc);
	void (*close)(ss_plugin_t* s, ss_instance_t* h);
	ss_plugin_rc (*next_batch)(ss_plugin_t* s, ss_instance_t* h, uint32_t* nevts, ss_plugin_event*** evts);
	ss_plugin_rc (*extract_fields)(ss_plugin_t* s, const ss_plugin_event_input* evt, const ss_plugin_field_extract_input* in);
	// optional
	const char* (*get_init_schema)(ss_plugin_schema_type* schema_type);
	const char* (*list_open_params)(ss_plugin_t* s, ss_plugin_rc* rc);
	const char* (*event_to_string)(ss_plugin_t* s, const ss_plugin_event_input* evt);
	const char* (*get_progress)(ss_plugin_t* s, ss_instance_t* h, uint32_t* progress_pct);
	ss_plugin_metric* (*get_metrics)(ss_plugin_t* s, uint32_t* num_metrics);
	const char* (*get_extract_event_sources)(void);
} host_api;

// host_batch receives the out-parameters of next_batch. It lives in C memory,
// one per instance, so that NextBatch passes no Go pointer (and allocates
// nothing) per call.
typedef struct host_batch {
	uint32_t nevts;
	ss_plugin_event** evts;
} host_batch;

// Implemented in cwrap.c.
void* host_dlopen(const char* path, char** err);
const char* host_resolve(void* handle, host_api* api);

// Wrappers around the function pointers. NULL optional symbols are checked on
// the Go side before calling.

static inline const char* host_call_str(const char* (*f)(void)) {
	return f ? f() : NULL;
}

static inline uint32_t host_get_id(const host_api* a) {
	return a->get_id();
}

static inline const char* host_get_init_schema(const host_api* a, ss_plugin_schema_type* t) {
	return a->get_init_schema(t);
}

static inline uintptr_t host_init(const host_api* a, const ss_plugin_init_input* in, ss_plugin_rc* rc) {
	return (uintptr_t)a->init(in, rc);
}

static inline void host_destroy(const host_api* a, uintptr_t s) {
	a->destroy((ss_plugin_t*)s);
}

static inline const char* host_get_last_error(const host_api* a, uintptr_t s) {
	return a->get_last_error((ss_plugin_t*)s);
}

static inline const char* host_list_open_params(const host_api* a, uintptr_t s, ss_plugin_rc* rc) {
	return a->list_open_params((ss_plugin_t*)s, rc);
}

static inline uintptr_t host_open(const host_api* a, uintptr_t s, const char* params, ss_plugin_rc* rc) {
	return (uintptr_t)a->open((ss_plugin_t*)s, params, rc);
}

static inline void host_close(const host_api* a, uintptr_t s, uintptr_t h) {
	a->close((ss_plugin_t*)s, (ss_instance_t*)h);
}

static inline ss_plugin_rc host_next_batch(const host_api* a, uintptr_t s, uintptr_t h, host_batch* out) {
	return a->next_batch((ss_plugin_t*)s, (ss_instance_t*)h, &out->nevts, &out->evts);
}

static inline const char* host_get_progress(const host_api* a, uintptr_t s, uintptr_t h, uint32_t* pct) {
	return a->get_progress((ss_plugin_t*)s, (ss_instance_t*)h, pct);
}

static inline const char* host_event_to_string(const host_api* a, uintptr_t s, const ss_plugin_event_input* e) {
	return a->event_to_string((ss_plugin_t*)s, e);
}

static inline ss_plugin_rc host_extract_fields(const host_api* a, uintptr_t s, const ss_plugin_event_input* e,
                                               const ss_plugin_field_extract_input* in) {
	return a->extract_fields((ss_plugin_t*)s, e, in);
}

static inline ss_plugin_metric* host_get_metrics(const host_api* a, uintptr_t s, uint32_t* n) {
	return a->get_metrics((ss_plugin_t*)s, n);
}

// Framework versions (framework.c): a host that presents plugin API 3.N
// passes the plugin structs holding only the members 3.N has, each ending
// exactly where an unreadable page starts, so that a plugin reading a member
// its framework lacks faults instead of reading garbage.

// host_init_input_size and host_extract_input_size are the sizes of
// ss_plugin_init_input and ss_plugin_field_extract_input in API 3.minor.
size_t host_init_input_size(uint32_t minor);
size_t host_extract_input_size(uint32_t minor);

// host_guard_alloc returns size zeroed bytes that end at a page boundary
// followed by a PROT_NONE page, or NULL; host_guard_free releases them.
void* host_guard_alloc(size_t size);
void host_guard_free(void* p, size_t size);

// host_log records what a plugin sends to the framework's logger. It is the
// ss_plugin_owner_t* the host passes to the plugin. Entries are appended
// under mu and never change once counted; beyond cap they are dropped.
typedef struct host_log_entry {
	char* component; // NULL when the plugin passed NULL
	char* msg;
	int32_t severity;
} host_log_entry;

typedef struct host_log {
	pthread_mutex_t mu;
	uint32_t len;
	uint32_t cap;
	uint64_t dropped;
	host_log_entry entries[];
} host_log;

host_log* host_log_new(uint32_t cap);
uint32_t host_log_len(host_log* l, uint64_t* dropped);

// host_log_fn is the ss_plugin_log_fn_t the host passes (owner-first
// signature, API 3.4 and later).
void host_log_fn(ss_plugin_owner_t* o, const char* component, const char* msg, ss_plugin_log_severity sev);

ss_plugin_owner_t* host_default_owner(void);

// host_owner_last_error is ss_plugin_init_input.get_owner_last_error.
const char* host_owner_last_error(ss_plugin_owner_t* o);

static inline host_log_entry* host_log_entries(host_log* l) {
	return l->entries;
}

// Function pointers of the host's callbacks, as cgo cannot take them.
static inline ss_plugin_log_fn_t host_log_fn_ptr(void) {
	return host_log_fn;
}

static inline const char* (*host_owner_last_error_fn(void))(ss_plugin_owner_t*) {
	return host_owner_last_error;
}
