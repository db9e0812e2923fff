// Per-thread arrays served by plugin_get_metrics (see metrics_buffers.c).
#pragma once

#include <stdint.h>
#include "plugin_types.h"

ss_plugin_metric* metrics_thread_buffer(uintptr_t state, uint32_t n, char** names);
