/*
 * fakeswitch: a small stand-in for the FreeSWITCH core, for mod_callscreen's
 * host tests. It is built as an executable with -rdynamic, so it exports the
 * host functions the module resolves with dlsym(RTLD_DEFAULT, ...); it dlopens
 * the module like FreeSWITCH does, and reads a script on stdin:
 *
 *   dlopen <path>               open the module, find <module>_module_interface
 *   global <name> <value>       set a global variable ($${name})
 *   load                        call the module's load function
 *   api [<args...>]             call the registered API function (NULL cmd if no args)
 *   api-null-stream             call the API function with a NULL stream
 *   var <name> <value>          set a channel variable of the next call
 *   digits <digits>             what the caller of the next call "presses" when
 *                               play_and_get_digits runs: like FreeSWITCH, the
 *                               digits are stored in the variable named by its
 *                               8th argument if they match its regex (9th,
 *                               ^digits$ form), else <var>_invalid is set
 *   hangs-up-at <app>           the caller of the next call hangs up while <app> runs
 *   call [<data>]               run the registered application on a new session
 *   call-null                   run the application with a NULL session and data
 *   reloadxml                   fire RELOADXML at every bound consumer
 *   sleep <ms>                  wait (for the module's background threads)
 *   copy <src> <dst>            copy a file (to change the config mid-script)
 *   shutdown                    call the module's shutdown function
 *   dlclose                     dlclose the module, report whether it stayed mapped
 *
 * Values may contain \xHH escapes (to pass bytes that are not UTF-8).
 *
 * Like FreeSWITCH, which runs a module's load, its API commands and its
 * applications on threads of SWITCH_THREAD_STACKSIZE (240 KiB), the script
 * runs on a thread with a stack of that size: a module that needs more
 * overflows here as it would there.
 * Everything the module asks of the host is printed on stdout, one line each:
 *   LOG <level> <session uuid or -> fmt=<format> text=<formatted text>
 *   SET <name>=<value>, HANGUP <cause>, EXEC <app> <arg>, PRESSED <digits>,
 *   CALLER-HUNG-UP, COMPLETE <line>,
 *   API| <output line>, STATUS <n>, REGISTERED app|api <name>,
 *   EVENT <subclass> then EVENT-HEADER <name>: <value> per header,
 *   RESERVE/FREE-SUBCLASS <owner> <subclass>, BIND/UNBIND <id> <event id>, ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callscreen_switch.h"

#define MAX_VARS 64

struct switch_channel {
	char *names[MAX_VARS];
	char *values[MAX_VARS];
	int count;
	int hung_up;
};

struct switch_core_session {
	char uuid[40];
	struct switch_channel channel;
	char *pool[MAX_VARS * 4];
	int pooled;
};

struct switch_loadable_module_interface {
	const char *module_name;
	switch_application_interface_t *app;
	switch_api_interface_t *api;
};

static char *globals_names[MAX_VARS];
static char *globals_values[MAX_VARS];
static int globals_count;

static struct switch_channel next_vars;
static char next_digits[64];
static int next_has_digits;
static char next_hangup_app[64];

/* the running call's caller script */
static char call_digits[64];
static int call_has_digits;
static char call_hangup_app[64];

#define MAX_HEADERS 64

struct switch_event {
	char subclass[128];
	int count;
	char *names[MAX_HEADERS];
	char *values[MAX_HEADERS];
};

struct switch_event_node {
	char id[64];
	switch_event_types_t event_id;
	switch_event_callback_t callback;
	int bound;
};

#define MAX_NODES 8
static struct switch_event_node *nodes[MAX_NODES];

static const char *level_name(switch_log_level_t level)
{
	switch (level) {
	case SWITCH_LOG_DEBUG: return "DEBUG";
	case SWITCH_LOG_INFO: return "INFO";
	case SWITCH_LOG_NOTICE: return "NOTICE";
	case SWITCH_LOG_WARNING: return "WARNING";
	case SWITCH_LOG_ERROR: return "ERR";
	case SWITCH_LOG_CRIT: return "CRIT";
	default: return "OTHER";
	}
}

/* Prints text with control bytes and non-ASCII escaped, so each record stays one line. */
static void print_escaped(const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char) *s;
		if (c == '\n') fputs("\\n", stdout);
		else if (c < 0x20 || c >= 0x7f || c == '\\') printf("\\x%02x", c);
		else putchar(c);
	}
}

/* ---- host functions the module resolves -------------------------------- */

switch_loadable_module_interface_t *switch_loadable_module_create_module_interface(switch_memory_pool_t *pool,
																				   const char *name)
{
	(void) pool;
	switch_loadable_module_interface_t *mi = calloc(1, sizeof(*mi));
	mi->module_name = name;
	printf("MODULE %s\n", name);
	return mi;
}

void *switch_loadable_module_create_interface(switch_loadable_module_interface_t *mod, switch_module_interface_name_t iname)
{
	if (iname == SWITCH_APPLICATION_INTERFACE) {
		mod->app = calloc(1, sizeof(*mod->app));
		return mod->app;
	}
	if (iname == SWITCH_API_INTERFACE) {
		mod->api = calloc(1, sizeof(*mod->api));
		return mod->api;
	}
	printf("UNEXPECTED interface %d\n", (int) iname);
	return NULL;
}

switch_status_t switch_console_set_complete(const char *string)
{
	printf("COMPLETE %s\n", string);
	return SWITCH_STATUS_SUCCESS;
}

char *switch_core_get_variable_dup(const char *varname)
{
	for (int i = 0; i < globals_count; i++) {
		if (!strcmp(globals_names[i], varname)) return strdup(globals_values[i]);
	}
	return NULL;
}

void switch_log_printf(switch_text_channel_t channel, const char *file, const char *func, int line,
					   const char *userdata, switch_log_level_t level, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	(void) file; (void) func; (void) line;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) text = NULL;
	va_end(ap);
	/* the module logs from its own threads too: keep each record whole */
	flockfile(stdout);
	/* FreeSWITCH log lines end in a newline; drop it to keep one record a line */
	if (text && *text && text[strlen(text) - 1] == '\n') text[strlen(text) - 1] = 0;
	printf("LOG %s %s fmt=", level_name(level),
		   channel == SWITCH_CHANNEL_ID_SESSION && userdata ? ((const struct switch_core_session *) userdata)->uuid : "-");
	print_escaped(fmt);
	fputs(" text=", stdout);
	print_escaped(text);
	putchar('\n');
	funlockfile(stdout);
	free(text);
}

switch_channel_t *switch_core_session_get_channel(switch_core_session_t *session)
{
	return &session->channel;
}

const char *switch_channel_get_variable_dup(switch_channel_t *channel, const char *varname, switch_bool_t dup, int idx)
{
	(void) idx;
	for (int i = 0; i < channel->count; i++) {
		if (!strcmp(channel->names[i], varname)) {
			if (!dup) return channel->values[i];
			/* a copy "in the session pool": freed when the session ends */
			struct switch_core_session *s = (struct switch_core_session *)
				((char *) channel - offsetof(struct switch_core_session, channel));
			char *copy = strdup(channel->values[i]);
			if (s->pooled < (int) (sizeof(s->pool) / sizeof(s->pool[0]))) s->pool[s->pooled++] = copy;
			return copy;
		}
	}
	return NULL;
}

static void channel_store(switch_channel_t *channel, const char *name, const char *value)
{
	if (channel->count < MAX_VARS) {
		channel->names[channel->count] = strdup(name);
		channel->values[channel->count] = strdup(value);
		channel->count++;
	}
}

switch_status_t switch_channel_set_variable_var_check(switch_channel_t *channel, const char *varname,
													  const char *value, switch_bool_t var_check)
{
	(void) var_check;
	printf("SET %s=", varname);
	print_escaped(value);
	putchar('\n');
	/* like FreeSWITCH, an empty value unsets the variable */
	for (int i = 0; i < channel->count; i++) {
		if (!strcmp(channel->names[i], varname)) channel->values[i][0] = 0, channel->names[i][0] = 0;
	}
	if (value && *value) channel_store(channel, varname, value);
	return SWITCH_STATUS_SUCCESS;
}

static const struct { const char *name; int cause; } causes[] = {
	{"UNALLOCATED_NUMBER", 1}, {"NORMAL_CLEARING", 16}, {"USER_BUSY", 17}, {"NO_ANSWER", 19},
	{"CALL_REJECTED", 21}, {"DECLINE", 603}, {NULL, 0}
};

switch_call_cause_t switch_channel_str2cause(const char *str)
{
	for (int i = 0; causes[i].name; i++) {
		if (!strcasecmp(causes[i].name, str)) return (switch_call_cause_t) causes[i].cause;
	}
	return SWITCH_CAUSE_NONE;
}

switch_channel_state_t switch_channel_perform_hangup(switch_channel_t *channel, const char *file, const char *func,
													 int line, switch_call_cause_t hangup_cause)
{
	(void) file; (void) func; (void) line;
	const char *name = "NONE";
	for (int i = 0; causes[i].name; i++) {
		if (causes[i].cause == (int) hangup_cause) name = causes[i].name;
	}
	printf("HANGUP %s\n", name);
	channel->hung_up = 1;
	return CS_HANGUP;
}

int switch_channel_test_ready(switch_channel_t *channel, switch_bool_t check_ready, switch_bool_t check_media)
{
	(void) check_ready; (void) check_media;
	return !channel->hung_up;
}

/* play_and_get_digits <min> <max> <tries> <timeout> <terminators> <file> <invalid_file> <var> <regex> ... */
static void press_digits(switch_channel_t *channel, const char *arg)
{
	char copy[4096], *argv[12] = { 0 }, *save = NULL;
	int argc = 0;
	snprintf(copy, sizeof(copy), "%s", arg);
	for (char *w = strtok_r(copy, " ", &save); w && argc < 12; w = strtok_r(NULL, " ", &save)) argv[argc++] = w;
	if (argc < 9) {
		printf("BAD-PLAY-AND-GET-DIGITS-ARG\n");
		return;
	}
	printf("PRESSED %s\n", call_digits);
	/* the module's regex is ^<digits>$: a match is an exact comparison */
	char expected[64];
	snprintf(expected, sizeof(expected), "%s", argv[8] + (argv[8][0] == '^'));
	size_t n = strlen(expected);
	if (n && expected[n - 1] == '$') expected[n - 1] = 0;
	if (!strcmp(expected, call_digits)) {
		channel_store(channel, argv[7], call_digits);
	} else {
		char invalid[256];
		snprintf(invalid, sizeof(invalid), "%s_invalid", argv[7]);
		channel_store(channel, invalid, call_digits);
	}
}

switch_status_t switch_core_session_execute_application_get_flags(switch_core_session_t *session, const char *app,
																  const char *arg, int32_t *flags)
{
	(void) flags;
	printf("EXEC %s ", app);
	print_escaped(arg);
	putchar('\n');
	if (!strcmp(app, "play_and_get_digits") && call_has_digits) press_digits(&session->channel, arg);
	if (*call_hangup_app && !strcmp(app, call_hangup_app)) {
		printf("CALLER-HUNG-UP\n");
		session->channel.hung_up = 1;
	}
	return SWITCH_STATUS_SUCCESS;
}

/* ---- events ------------------------------------------------------------- */

switch_status_t switch_event_create_subclass_detailed(const char *file, const char *func, int line,
													  switch_event_t **event, switch_event_types_t event_id,
													  const char *subclass_name)
{
	(void) file; (void) func; (void) line;
	if (event_id != SWITCH_EVENT_CUSTOM || !subclass_name) {
		printf("EVENT-CREATE-REFUSED %d\n", (int) event_id);
		return SWITCH_STATUS_GENERR;
	}
	*event = calloc(1, sizeof(**event));
	snprintf((*event)->subclass, sizeof((*event)->subclass), "%s", subclass_name);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_add_header_string(switch_event_t *event, switch_stack_t stack, const char *header_name,
											   const char *data)
{
	if (stack != SWITCH_STACK_BOTTOM) printf("EVENT-UNEXPECTED-STACK %d\n", (int) stack);
	if (event->count == MAX_HEADERS) return SWITCH_STATUS_FALSE;
	event->names[event->count] = strdup(header_name);
	event->values[event->count] = strdup(data ? data : "");
	event->count++;
	return SWITCH_STATUS_SUCCESS;
}

void switch_event_destroy(switch_event_t **event)
{
	if (!event || !*event) return;
	for (int i = 0; i < (*event)->count; i++) {
		free((*event)->names[i]);
		free((*event)->values[i]);
	}
	free(*event);
	*event = NULL;
}

switch_status_t switch_event_fire_detailed(const char *file, const char *func, int line, switch_event_t **event,
										   void *user_data)
{
	(void) file; (void) func; (void) line; (void) user_data;
	flockfile(stdout);
	printf("EVENT %s\n", (*event)->subclass);
	for (int i = 0; i < (*event)->count; i++) {
		printf("EVENT-HEADER %s: ", (*event)->names[i]);
		print_escaped((*event)->values[i]);
		putchar('\n');
	}
	funlockfile(stdout);
	switch_event_destroy(event);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_reserve_subclass_detailed(const char *owner, const char *subclass_name)
{
	printf("RESERVE %s %s\n", owner, subclass_name);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_free_subclass_detailed(const char *owner, const char *subclass_name)
{
	printf("FREE-SUBCLASS %s %s\n", owner, subclass_name);
	return SWITCH_STATUS_SUCCESS;
}

switch_status_t switch_event_bind_removable(const char *id, switch_event_types_t event, const char *subclass_name,
											switch_event_callback_t callback, void *user_data,
											switch_event_node_t **node)
{
	(void) subclass_name; (void) user_data;
	for (int i = 0; i < MAX_NODES; i++) {
		if (!nodes[i]) {
			nodes[i] = calloc(1, sizeof(*nodes[i]));
			snprintf(nodes[i]->id, sizeof(nodes[i]->id), "%s", id);
			nodes[i]->event_id = event;
			nodes[i]->callback = callback;
			*node = nodes[i];
			printf("BIND %s %d\n", id, (int) event);
			return SWITCH_STATUS_SUCCESS;
		}
	}
	return SWITCH_STATUS_FALSE;
}

switch_status_t switch_event_unbind(switch_event_node_t **node)
{
	for (int i = 0; i < MAX_NODES; i++) {
		if (nodes[i] && nodes[i] == *node) {
			printf("UNBIND %s %d\n", nodes[i]->id, (int) nodes[i]->event_id);
			free(nodes[i]);
			nodes[i] = NULL;
			*node = NULL;
			return SWITCH_STATUS_SUCCESS;
		}
	}
	printf("UNBIND-UNKNOWN\n");
	return SWITCH_STATUS_FALSE;
}

/* ---- the stream handed to API functions -------------------------------- */

struct out_buffer {
	char *data;
	size_t len;
};

static switch_status_t stream_write(switch_stream_handle_t *handle, const char *fmt, ...)
{
	struct out_buffer *out = handle->data;
	char *text = NULL;
	va_list ap;
	if (strcmp(fmt, "%.*s") && strcmp(fmt, "%s")) printf("NONCONSTANT-STREAM-FORMAT %s\n", fmt);
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) return SWITCH_STATUS_FALSE;
	out->data = realloc(out->data, out->len + (size_t) n + 1);
	memcpy(out->data + out->len, text, (size_t) n + 1);
	out->len += (size_t) n;
	free(text);
	return SWITCH_STATUS_SUCCESS;
}

/* ---- the script -------------------------------------------------------- */

static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] == 'x' && r[2] && r[3]) {
			char hex[3] = { r[2], r[3], 0 };
			*w++ = (char) strtol(hex, NULL, 16);
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

static void free_channel(struct switch_channel *c)
{
	for (int i = 0; i < c->count; i++) {
		free(c->names[i]);
		free(c->values[i]);
	}
	memset(c, 0, sizeof(*c));
}

/* FreeSWITCH's SWITCH_THREAD_STACKSIZE. */
#define HOST_THREAD_STACK (240 * 1024)

static int run_script(void)
{
	static char line[65536];
	void *lib = NULL;
	char lib_path[4096] = "";
	const switch_loadable_module_function_table_t *table = NULL;
	switch_loadable_module_interface_t *mi = NULL;
	int calls = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		char *arg = strchr(line, ' ');
		if (arg) *arg++ = 0;
		if (!*line || *line == '#') continue;
		printf("> %s%s%s\n", line, arg ? " " : "", arg ? arg : "");

		if (!strcmp(line, "dlopen")) {
			snprintf(lib_path, sizeof(lib_path), "%s", arg);
			lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
			if (!lib) { printf("DLOPEN-FAILED %s\n", dlerror()); return 1; }
			table = dlsym(lib, "mod_callscreen_module_interface");
			if (!table) { printf("NO-TABLE %s\n", dlerror()); return 1; }
			printf("TABLE api_version=%d load=%s shutdown=%s runtime=%s flags=%u\n", table->switch_api_version,
				   table->load ? "yes" : "no", table->shutdown ? "yes" : "no", table->runtime ? "yes" : "no",
				   table->flags);
		} else if (!strcmp(line, "global")) {
			char *value = strchr(arg, ' ');
			if (value) *value++ = 0;
			unescape(value ? value : "");
			globals_names[globals_count] = strdup(arg);
			globals_values[globals_count] = strdup(value ? value : "");
			globals_count++;
		} else if (!strcmp(line, "load")) {
			mi = NULL;
			switch_status_t st = table->load(&mi, NULL);
			printf("STATUS %d\n", (int) st);
			if (mi && mi->app) printf("REGISTERED app %s syntax=%s\n", mi->app->interface_name, mi->app->syntax);
			if (mi && mi->api) printf("REGISTERED api %s syntax=%s\n", mi->api->interface_name, mi->api->syntax);
		} else if (!strcmp(line, "api") || !strcmp(line, "api-null-stream")) {
			struct out_buffer out = { NULL, 0 };
			switch_stream_handle_t stream;
			memset(&stream, 0, sizeof(stream));
			stream.write_function = stream_write;
			stream.data = &out;
			if (arg) unescape(arg);
			switch_status_t st = mi->api->function(arg, NULL, strcmp(line, "api") ? NULL : &stream);
			char *save = NULL;
			for (char *l = out.data ? strtok_r(out.data, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
				fputs("API| ", stdout);
				print_escaped(l);
				putchar('\n');
			}
			printf("STATUS %d\n", (int) st);
			free(out.data);
		} else if (!strcmp(line, "var")) {
			char *value = strchr(arg, ' ');
			if (value) *value++ = 0;
			unescape(value ? value : "");
			next_vars.names[next_vars.count] = strdup(arg);
			next_vars.values[next_vars.count] = strdup(value ? value : "");
			next_vars.count++;
		} else if (!strcmp(line, "digits")) {
			snprintf(next_digits, sizeof(next_digits), "%s", arg ? arg : "");
			next_has_digits = 1;
		} else if (!strcmp(line, "hangs-up-at")) {
			snprintf(next_hangup_app, sizeof(next_hangup_app), "%s", arg ? arg : "");
		} else if (!strcmp(line, "call")) {
			struct switch_core_session session;
			memset(&session, 0, sizeof(session));
			snprintf(session.uuid, sizeof(session.uuid), "00000000-0000-0000-0000-%012d", ++calls);
			session.channel = next_vars;
			memset(&next_vars, 0, sizeof(next_vars));
			memcpy(call_digits, next_digits, sizeof(call_digits));
			call_has_digits = next_has_digits;
			memcpy(call_hangup_app, next_hangup_app, sizeof(call_hangup_app));
			next_has_digits = 0;
			next_digits[0] = 0;
			next_hangup_app[0] = 0;
			if (arg) unescape(arg);
			mi->app->application_function(&session, arg ? arg : "");
			printf("RETURNED ready=%d\n", !session.channel.hung_up);
			free_channel(&session.channel);
			for (int i = 0; i < session.pooled; i++) free(session.pool[i]);
		} else if (!strcmp(line, "call-null")) {
			mi->app->application_function(NULL, NULL);
			printf("RETURNED\n");
		} else if (!strcmp(line, "reloadxml")) {
			struct switch_event ev;
			memset(&ev, 0, sizeof(ev));
			int fired = 0;
			for (int i = 0; i < MAX_NODES; i++) {
				if (nodes[i] && nodes[i]->event_id == SWITCH_EVENT_RELOADXML) {
					nodes[i]->callback(&ev);
					fired++;
				}
			}
			printf("RELOADXML-DELIVERED %d\n", fired);
		} else if (!strcmp(line, "copy")) {
			char *dst = arg ? strchr(arg, ' ') : NULL;
			if (dst) *dst++ = 0;
			FILE *in = arg ? fopen(arg, "rb") : NULL;
			FILE *out = dst ? fopen(dst, "wb") : NULL;
			int ch;
			while (in && out && (ch = fgetc(in)) != EOF) fputc(ch, out);
			printf("COPIED %s\n", in && out ? "yes" : "no");
			if (in) fclose(in);
			if (out) fclose(out);
		} else if (!strcmp(line, "sleep")) {
			struct timespec ts = { 0, 0 };
			long ms = arg ? atol(arg) : 0;
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
		} else if (!strcmp(line, "shutdown")) {
			printf("STATUS %d\n", (int) table->shutdown());
			for (int i = 0; i < MAX_NODES; i++) {
				if (nodes[i]) printf("STILL-BOUND %s\n", nodes[i]->id);
			}
			if (mi) { free(mi->app); free(mi->api); free(mi); mi = NULL; }
		} else if (!strcmp(line, "dlclose")) {
			printf("DLCLOSE %d\n", dlclose(lib));
			void *again = dlopen(lib_path, RTLD_NOW | RTLD_NOLOAD);
			printf("STILL-MAPPED %s\n", again ? "yes" : "no");
			if (again) dlclose(again);
			lib = NULL;
			table = NULL;
		} else {
			printf("UNKNOWN-SCRIPT-COMMAND %s\n", line);
			return 2;
		}
	}
	return 0;
}

static int script_status;

static void *script_thread(void *unused)
{
	(void) unused;
	script_status = run_script();
	return NULL;
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t thread;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HOST_THREAD_STACK);
	if (pthread_create(&thread, &attr, script_thread, NULL)) {
		perror("pthread_create");
		return 3;
	}
	pthread_join(thread, NULL);
	return script_status;
}
