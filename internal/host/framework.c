// Plugin API structs as a given framework version lays them out, and the
// framework's logger. See cwrap.h.

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cwrap.h"

// The minors that added the members this host knows to be optional:
// - ss_plugin_init_input.log_fn, owner-first signature: present in API 3.4.0
//   (falcosecurity/libs userspace/plugin/plugin_api.h as vendored at 3.4.0 in
//   gnosek/falco-plugin-rs falco_plugin_api/plugin/plugin_api.h); during
//   3.3.0 development it briefly had no owner argument.
// - ss_plugin_field_extract_input.value_offsets: API 3.11.0
//   (falcosecurity/libs#2322, released in libs 0.21.0).
// Members added after 3.11 are not in this host's headers (plugin-sdk-go
// v0.8.3, API 3.11.0), so 3.12 and later present the 3.11 layout.
#define HOST_MINOR_LOG_FN 4
#define HOST_MINOR_VALUE_OFFSETS 11

size_t host_init_input_size(uint32_t minor) {
	if (minor < HOST_MINOR_LOG_FN) {
		return offsetof(ss_plugin_init_input, log_fn);
	}
	return sizeof(ss_plugin_init_input);
}

size_t host_extract_input_size(uint32_t minor) {
	if (minor < HOST_MINOR_VALUE_OFFSETS) {
		return offsetof(ss_plugin_field_extract_input, value_offsets);
	}
	return sizeof(ss_plugin_field_extract_input);
}

static size_t guard_pages(size_t size, size_t page) {
	return (size + page - 1) / page + 1; // data pages, then the guard page
}

void* host_guard_alloc(size_t size) {
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = guard_pages(size, page);
	char* base = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		return NULL;
	}
	char* guard = base + (n - 1) * page;
	if (mprotect(guard, page, PROT_NONE) != 0) {
		munmap(base, n * page);
		return NULL;
	}
	// Every struct here holds pointers, so its size is a multiple of their
	// alignment and guard - size is aligned.
	return guard - size;
}

void host_guard_free(void* p, size_t size) {
	if (!p) {
		return;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = guard_pages(size, page);
	char* guard = (char*)p + size;
	munmap(guard - (n - 1) * page, n * page);
}

host_log* host_log_new(uint32_t cap) {
	host_log* l = calloc(1, sizeof(host_log) + cap * sizeof(host_log_entry));
	if (!l) {
		return NULL;
	}
	pthread_mutex_init(&l->mu, NULL);
	l->cap = cap;
	return l;
}

uint32_t host_log_len(host_log* l, uint64_t* dropped) {
	pthread_mutex_lock(&l->mu);
	uint32_t n = l->len;
	*dropped = l->dropped;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void host_log_fn(ss_plugin_owner_t* o, const char* component, const char* msg, ss_plugin_log_severity sev) {
	host_log* l = o;
	pthread_mutex_lock(&l->mu);
	if (l->len == l->cap) {
		l->dropped++;
	} else {
		host_log_entry* e = &l->entries[l->len];
		e->component = component ? strdup(component) : NULL;
		e->msg = strdup(msg ? msg : "");
		e->severity = (int32_t)sev;
		l->len++;
	}
	pthread_mutex_unlock(&l->mu);
}

// host_default_owner is the owner passed without a logger: libsinsp never
// passes NULL.
static char default_owner;

ss_plugin_owner_t* host_default_owner(void) {
	return &default_owner;
}

const char* host_owner_last_error(ss_plugin_owner_t* o) {
	(void)o;
	return NULL;
}
