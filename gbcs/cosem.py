"""COSEM interface classes (IEC 62056-6-2, the DLMS Blue Book; 9000 is GBCS's own): the class
names and their attribute and method names, so decoded DLMS messages read by name.

Attribute 1 is always logical_name; the lists below start there. Names are the Blue Book's.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class InterfaceClass(NamedTuple):
    name: str
    attributes: tuple[str, ...]  # attribute 1, 2, ...
    methods: tuple[str, ...] = ()  # method 1, 2, ...


CLASSES: Final[dict[int, InterfaceClass]] = {
    1: InterfaceClass("Data", ("logical_name", "value")),
    3: InterfaceClass("Register", ("logical_name", "value", "scaler_unit"), ("reset",)),
    4: InterfaceClass(
        "Extended register",
        ("logical_name", "value", "scaler_unit", "status", "capture_time"),
        ("reset",),
    ),
    5: InterfaceClass(
        "Demand register",
        (
            "logical_name",
            "current_average_value",
            "last_average_value",
            "scaler_unit",
            "status",
            "capture_time",
            "start_time_current",
            "period",
            "number_of_periods",
        ),
        ("reset", "next_period"),
    ),
    6: InterfaceClass(
        "Register activation",
        ("logical_name", "register_assignment", "mask_list", "active_mask"),
        ("add_register", "add_mask", "delete_mask"),
    ),
    7: InterfaceClass(
        "Profile generic",
        (
            "logical_name",
            "buffer",
            "capture_objects",
            "capture_period",
            "sort_method",
            "sort_object",
            "entries_in_use",
            "profile_entries",
        ),
        ("reset", "capture"),
    ),
    8: InterfaceClass(
        "Clock",
        (
            "logical_name",
            "time",
            "time_zone",
            "status",
            "daylight_savings_begin",
            "daylight_savings_end",
            "daylight_savings_deviation",
            "daylight_savings_enabled",
            "clock_base",
        ),
        (
            "adjust_to_quarter",
            "adjust_to_measuring_period",
            "adjust_to_minute",
            "adjust_to_preset_time",
            "preset_adjusting_time",
            "shift_time",
        ),
    ),
    9: InterfaceClass("Script table", ("logical_name", "scripts"), ("execute",)),
    10: InterfaceClass(
        "Schedule", ("logical_name", "entries"), ("enable_disable", "insert", "delete")
    ),
    11: InterfaceClass("Special days table", ("logical_name", "entries"), ("insert", "delete")),
    15: InterfaceClass(
        "Association LN",
        (
            "logical_name",
            "object_list",
            "associated_partners_id",
            "application_context_name",
            "xdlms_context_info",
            "authentication_mechanism_name",
            "secret",
            "association_status",
            "security_setup_reference",
            "user_list",
            "current_user",
        ),
        ("reply_to_hls_authentication", "change_hls_secret", "add_object", "remove_object"),
    ),
    18: InterfaceClass(
        "Image transfer",
        (
            "logical_name",
            "image_block_size",
            "image_transferred_blocks_status",
            "image_first_not_transferred_block_number",
            "image_transfer_enabled",
            "image_transfer_status",
            "image_to_activate_info",
        ),
        ("image_transfer_initiate", "image_block_transfer", "image_verify", "image_activate"),
    ),
    20: InterfaceClass(
        "Activity calendar",
        (
            "logical_name",
            "calendar_name_active",
            "season_profile_active",
            "week_profile_table_active",
            "day_profile_table_active",
            "calendar_name_passive",
            "season_profile_passive",
            "week_profile_table_passive",
            "day_profile_table_passive",
            "activate_passive_calendar_time",
        ),
        ("activate_passive_calendar",),
    ),
    21: InterfaceClass(
        "Register monitor", ("logical_name", "thresholds", "monitored_value", "actions")
    ),
    22: InterfaceClass(
        "Single action schedule", ("logical_name", "executed_script", "type", "execution_time")
    ),
    30: InterfaceClass(
        "Data protection",
        (
            "logical_name",
            "protection_buffer",
            "protection_object_list",
            "protection_parameters_get",
            "protection_parameters_set",
            "required_protection",
        ),
        ("get_protected_attributes", "set_protected_attributes", "invoke_protected_method"),
    ),
    40: InterfaceClass(
        "Push setup",
        (
            "logical_name",
            "push_object_list",
            "send_destination_and_method",
            "communication_window",
            "randomisation_start_interval",
            "number_of_retries",
            "repetition_delay",
        ),
        ("push",),
    ),
    64: InterfaceClass(
        "Security setup",
        (
            "logical_name",
            "security_policy",
            "security_suite",
            "client_system_title",
            "server_system_title",
            "certificates",
        ),
        (
            "security_activate",
            "key_transfer",
            "key_agreement",
            "generate_key_pair",
            "generate_certificate_request",
            "import_certificate",
            "export_certificate",
            "remove_certificate",
        ),
    ),
    70: InterfaceClass(
        "Disconnect control",
        ("logical_name", "output_state", "control_state", "control_mode"),
        ("remote_disconnect", "remote_reconnect"),
    ),
    71: InterfaceClass(
        "Limiter",
        (
            "logical_name",
            "monitored_value",
            "threshold_active",
            "threshold_normal",
            "threshold_emergency",
            "min_over_threshold_duration",
            "min_under_threshold_duration",
            "emergency_profile",
            "emergency_profile_group_id_list",
            "emergency_profile_active",
            "actions",
        ),
    ),
    104: InterfaceClass(
        "ZigBee network control",
        ("logical_name", "enable_disable_joining", "join_timeout", "active_devices"),
        (
            "register_device",
            "unregister_device",
            "unregister_all_devices",
            "backup_pan",
            "restore_pan",
            "identify_device",
            "remove_mirror",
            "update_network_key",
            "update_link_key",
            "create_pan",
            "remove_pan",
        ),
    ),
    111: InterfaceClass(
        "Account",
        (
            "logical_name",
            "account_mode_and_status",
            "current_credit_in_use",
            "current_credit_status",
            "available_credit",
            "amount_to_clear",
            "clearance_threshold",
            "aggregated_debt",
            "credit_reference_list",
            "charge_reference_list",
            "credit_charge_configuration",
            "token_gateway_configuration",
            "account_activation_time",
            "account_closure_time",
            "currency",
            "low_credit_threshold",
            "next_credit_available_threshold",
            "max_provision",
            "max_provision_period",
        ),
        ("activate_account", "close_account", "reset_account"),
    ),
    112: InterfaceClass(
        "Credit",
        (
            "logical_name",
            "current_credit_amount",
            "type",
            "priority",
            "warning_threshold",
            "limit",
            "credit_configuration",
            "status",
            "preset_credit_amount",
            "credit_available_threshold",
            "period",
        ),
        ("update_amount", "set_amount_to_value", "invoke_credit"),
    ),
    113: InterfaceClass(
        "Charge",
        (
            "logical_name",
            "total_amount_paid",
            "charge_type",
            "priority",
            "unit_charge_active",
            "unit_charge_passive",
            "unit_charge_activation_time",
            "period",
            "charge_configuration",
            "last_collection_time",
            "last_collection_amount",
            "total_amount_remaining",
            "proportion",
        ),
        (
            "update_unit_charge",
            "activate_passive_unit_charge",
            "collect",
            "update_total_amount_remaining",
            "set_total_amount_remaining",
        ),
    ),
    115: InterfaceClass(
        "Token gateway",
        (
            "logical_name",
            "token",
            "token_time",
            "token_description",
            "token_delivery_method",
            "token_status",
        ),
        ("enter",),
    ),
    # GBCS's own class (primer 9.1): a value with a passive copy and its activation time
    9000: InterfaceClass(
        "GBCS extended data",
        (
            "logical_name",
            "value_active",
            "scaler_unit_active",
            "value_passive",
            "scaler_unit_passive",
            "activate_passive_value_time",
        ),
    ),
}


def class_name(class_id: int) -> str | None:
    known = CLASSES.get(class_id)
    return None if known is None else known.name


def attribute_name(class_id: int, attribute: int) -> str | None:
    known = CLASSES.get(class_id)
    if known is None or not 1 <= attribute <= len(known.attributes):
        return None
    return known.attributes[attribute - 1]


def method_name(class_id: int, method: int) -> str | None:
    known = CLASSES.get(class_id)
    if known is None or not 1 <= method <= len(known.methods):
        return None
    return known.methods[method - 1]
