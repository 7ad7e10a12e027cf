/*
 * mod_callscreen: our own declarations of the small subset of the FreeSWITCH
 * host ABI that the module uses, written from FreeSWITCH's public API
 * (switch_types.h, switch_module_interfaces.h, switch_core.h, switch_channel.h,
 * switch_log.h, switch_event.h, switch_console.h of FreeSWITCH 1.10 / 1.11).
 *
 * bindgen turns this file into Rust (src/fs/bindings.rs includes the result).
 * When real FreeSWITCH headers are available, build.rs checks these
 * declarations against them:
 *   - every value listed in callscreen_abi_items.h (enum values, struct sizes
 *     and field offsets, SWITCH_API_VERSION) is printed by a probe compiled
 *     once over this file and once over <switch.h>, and the two must agree;
 *   - every host function listed in callscreen_host_functions.h is assigned,
 *     after <switch.h>, to a pointer of the type we declare, so a parameter or
 *     return type that disagrees with FreeSWITCH's is a compile error.
 *
 * Only what the module touches is declared. Structures the module only
 * passes back to the host are opaque.
 */
#ifndef CALLSCREEN_SWITCH_H
#define CALLSCREEN_SWITCH_H

#include <stddef.h>
#include <stdint.h>

#define SWITCH_API_VERSION 5

/* ---- opaque handles ---------------------------------------------------- */

typedef struct switch_core_session switch_core_session_t;
typedef struct switch_channel switch_channel_t;
typedef struct fspr_pool_t switch_memory_pool_t;
typedef struct switch_event switch_event_t;
typedef struct switch_event_node switch_event_node_t;
typedef struct switch_loadable_module_interface switch_loadable_module_interface_t;
typedef struct switch_thread_rwlock switch_thread_rwlock_t;
typedef struct switch_mutex switch_mutex_t;

/* ---- enums ------------------------------------------------------------- */

typedef enum {
	SWITCH_FALSE = 0,
	SWITCH_TRUE = 1
} switch_bool_t;

typedef enum {
	SWITCH_STATUS_SUCCESS = 0,
	SWITCH_STATUS_FALSE = 1,
	SWITCH_STATUS_GENERR = 9,
	SWITCH_STATUS_NOTFOUND = 14,
	SWITCH_STATUS_NOUNLOAD = 16,
	SWITCH_STATUS_TERM = 21
} switch_status_t;

typedef enum {
	SWITCH_LOG_DEBUG = 7,
	SWITCH_LOG_INFO = 6,
	SWITCH_LOG_NOTICE = 5,
	SWITCH_LOG_WARNING = 4,
	SWITCH_LOG_ERROR = 3,
	SWITCH_LOG_CRIT = 2
} switch_log_level_t;

typedef enum {
	SWITCH_CHANNEL_ID_LOG = 0,
	SWITCH_CHANNEL_ID_LOG_CLEAN = 1,
	SWITCH_CHANNEL_ID_EVENT = 2,
	SWITCH_CHANNEL_ID_SESSION = 3
} switch_text_channel_t;

typedef enum {
	SWITCH_APPLICATION_INTERFACE = 4,
	SWITCH_API_INTERFACE = 5
} switch_module_interface_name_t;

/* Q.850 causes; the module maps names with switch_channel_str2cause(). */
typedef enum {
	SWITCH_CAUSE_NONE = 0,
	SWITCH_CAUSE_UNALLOCATED_NUMBER = 1,
	SWITCH_CAUSE_NORMAL_CLEARING = 16,
	SWITCH_CAUSE_USER_BUSY = 17,
	SWITCH_CAUSE_CALL_REJECTED = 21
} switch_call_cause_t;

/* Only the size and CS_NONE matter to us: the hangup result is ignored. */
typedef enum {
	CS_NEW = 0,
	CS_HANGUP = 10,
	CS_NONE = 13
} switch_channel_state_t;

typedef enum {
	SWITCH_EVENT_CUSTOM = 0,
	SWITCH_EVENT_RELOADXML = 56,
	SWITCH_EVENT_ALL = 92
} switch_event_types_t;

typedef enum {
	SWITCH_STACK_BOTTOM = (1 << 0),
	SWITCH_STACK_TOP = (1 << 1)
} switch_stack_t;

/* Application flags. SAF_SUPPORT_NOMEDIA stops the core from pre-answering
 * the call before running the application: a rejected caller must get the
 * SIP failure response (486, 603, 404…) without early media first. */
typedef enum {
	SAF_NONE = 0,
	SAF_SUPPORT_NOMEDIA = (1 << 0),
	SAF_ROUTING_EXEC = (1 << 1)
} switch_application_flag_enum_t;

typedef uint32_t switch_module_flag_t;
typedef uintptr_t switch_size_t;

/* ---- callbacks --------------------------------------------------------- */

typedef struct switch_stream_handle switch_stream_handle_t;

typedef switch_status_t (*switch_module_load_t) (switch_loadable_module_interface_t **module_interface,
												 switch_memory_pool_t *pool);
typedef switch_status_t (*switch_module_runtime_t) (void);
typedef switch_status_t (*switch_module_shutdown_t) (void);
typedef void (*switch_application_function_t) (switch_core_session_t *session, const char *data);
typedef switch_status_t (*switch_api_function_t) (const char *cmd, switch_core_session_t *session,
												  switch_stream_handle_t *stream);
typedef uint8_t *(*switch_stream_handle_read_function_t) (switch_stream_handle_t *handle, int *len);
typedef switch_status_t (*switch_stream_handle_write_function_t) (switch_stream_handle_t *handle, const char *fmt, ...);
typedef switch_status_t (*switch_stream_handle_raw_write_function_t) (switch_stream_handle_t *handle, uint8_t *data,
																	  switch_size_t datalen);
typedef void (*switch_event_callback_t) (switch_event_t *event);

/* ---- structures the module reads or writes ----------------------------- */

/* The table FreeSWITCH looks up as <module>_module_interface after dlopen. */
typedef struct switch_loadable_module_function_table {
	int switch_api_version;
	switch_module_load_t load;
	switch_module_shutdown_t shutdown;
	switch_module_runtime_t runtime;
	switch_module_flag_t flags;
} switch_loadable_module_function_table_t;

/* Filled in by the module after switch_loadable_module_create_interface(). */
typedef struct switch_application_interface {
	const char *interface_name;
	switch_application_function_t application_function;
	const char *long_desc;
	const char *short_desc;
	const char *syntax;
	uint32_t flags;
	switch_thread_rwlock_t *rwlock;
	int refs;
	switch_mutex_t *reflock;
	switch_loadable_module_interface_t *parent;
	struct switch_application_interface *next;
} switch_application_interface_t;

typedef struct switch_api_interface {
	const char *interface_name;
	const char *desc;
	switch_api_function_t function;
	const char *syntax;
	switch_thread_rwlock_t *rwlock;
	int refs;
	switch_mutex_t *reflock;
	switch_loadable_module_interface_t *parent;
	struct switch_api_interface *next;
} switch_api_interface_t;

/* The API output stream; the module only calls write_function. */
struct switch_stream_handle {
	switch_stream_handle_read_function_t read_function;
	switch_stream_handle_write_function_t write_function;
	switch_stream_handle_raw_write_function_t raw_write_function;
	void *data;
	void *end;
	switch_size_t data_size;
	switch_size_t data_len;
	switch_size_t alloc_len;
	switch_size_t alloc_chunk;
	switch_event_t *param_event;
};

/* ---- host functions ---------------------------------------------------- */

/*
 * The module does not link against libfreeswitch: it resolves these functions
 * at load time with dlsym(RTLD_DEFAULT, name) into a table of function
 * pointers (src/fs/host_api.rs). That keeps the engine's tests and the CLI,
 * which share the crate, free of undefined host symbols. Each function gets a
 * pointer type `<name>_fn` here; build.rs checks each type against the real
 * prototype.
 */
#define CS_HOST_FN(ret, name, params) typedef ret(*name##_fn) params;
#include "callscreen_host_functions.h"
#undef CS_HOST_FN

#endif /* CALLSCREEN_SWITCH_H */
