/*
 * The FreeSWITCH functions mod_callscreen calls, as an X-macro list:
 * CS_HOST_FN(return type, name, (parameters)). Written from FreeSWITCH's
 * public headers; build.rs checks each against the real prototype.
 */

/* module registration */
CS_HOST_FN(switch_loadable_module_interface_t *, switch_loadable_module_create_module_interface,
		   (switch_memory_pool_t *pool, const char *name))
CS_HOST_FN(void *, switch_loadable_module_create_interface,
		   (switch_loadable_module_interface_t *mod, switch_module_interface_name_t iname))
CS_HOST_FN(switch_status_t, switch_console_set_complete, (const char *string))

/* global variables ($${conf_dir}, callscreen_config): a malloc'd copy */
CS_HOST_FN(char *, switch_core_get_variable_dup, (const char *varname))

/* logging; the module always passes a constant format */
CS_HOST_FN(void, switch_log_printf,
		   (switch_text_channel_t channel, const char *file, const char *func, int line, const char *userdata,
			switch_log_level_t level, const char *fmt, ...))

/* sessions and channels */
CS_HOST_FN(switch_channel_t *, switch_core_session_get_channel, (switch_core_session_t *session))
CS_HOST_FN(const char *, switch_channel_get_variable_dup,
		   (switch_channel_t *channel, const char *varname, switch_bool_t dup, int idx))
CS_HOST_FN(switch_status_t, switch_channel_set_variable_var_check,
		   (switch_channel_t *channel, const char *varname, const char *value, switch_bool_t var_check))
CS_HOST_FN(switch_call_cause_t, switch_channel_str2cause, (const char *str))
CS_HOST_FN(switch_channel_state_t, switch_channel_perform_hangup,
		   (switch_channel_t *channel, const char *file, const char *func, int line,
			switch_call_cause_t hangup_cause))
CS_HOST_FN(int, switch_channel_test_ready,
		   (switch_channel_t *channel, switch_bool_t check_ready, switch_bool_t check_media))
CS_HOST_FN(switch_status_t, switch_core_session_execute_application_get_flags,
		   (switch_core_session_t *session, const char *app, const char *arg, int32_t *flags))

/* events: callscreen::verdict / callscreen::penalty, and the RELOADXML binding */
CS_HOST_FN(switch_status_t, switch_event_create_subclass_detailed,
		   (const char *file, const char *func, int line, switch_event_t **event, switch_event_types_t event_id,
			const char *subclass_name))
CS_HOST_FN(switch_status_t, switch_event_add_header_string,
		   (switch_event_t *event, switch_stack_t stack, const char *header_name, const char *data))
CS_HOST_FN(switch_status_t, switch_event_fire_detailed,
		   (const char *file, const char *func, int line, switch_event_t **event, void *user_data))
CS_HOST_FN(void, switch_event_destroy, (switch_event_t **event))
CS_HOST_FN(switch_status_t, switch_event_reserve_subclass_detailed, (const char *owner, const char *subclass_name))
CS_HOST_FN(switch_status_t, switch_event_free_subclass_detailed, (const char *owner, const char *subclass_name))
CS_HOST_FN(switch_status_t, switch_event_bind_removable,
		   (const char *id, switch_event_types_t event, const char *subclass_name, switch_event_callback_t callback,
			void *user_data, switch_event_node_t **node))
CS_HOST_FN(switch_status_t, switch_event_unbind, (switch_event_node_t **node))
