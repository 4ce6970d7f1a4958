// The tables as diesel sees them; one definition serves both backends. Keep it in step with
// migrations/sqlite and migrations/postgres.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        username_folded -> Text,
        email -> Text,
        alternate_email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        middle_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        employee_identifier -> Nullable<Text>,
        job_title -> Nullable<Text>,
        department -> Nullable<Text>,
        company -> Nullable<Text>,
        cost_center -> Nullable<Text>,
        location -> Nullable<Text>,
        employee_type -> Nullable<Text>,
        manager_id -> Nullable<Text>,
        phone_numbers -> Text,
        addresses -> Text,
        samba_service_user -> Bool,
        external_id -> Nullable<Text>,
        state -> Text,
        state_source -> Text,
        state_changed_at -> Timestamp,
        password_hash -> Nullable<Text>,
        password_expired -> Bool,
        password_set_at -> Nullable<Timestamp>,
        creation_source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        formatted_name -> Nullable<Text>,
        email_type -> Text,
        alternate_email_type -> Text,
        email_primary -> Bool,
        division -> Nullable<Text>,
        unix_uid -> Nullable<BigInt>,
        unix_guid -> Nullable<BigInt>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        event_type -> Text,
        initiator_kind -> Text,
        initiator_name -> Nullable<Text>,
        resource_kind -> Text,
        resource_id -> Text,
        resource_name -> Nullable<Text>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    schedules (id) {
        id -> Text,
        user_id -> Text,
        target_state -> Text,
        requested_at -> Timestamp,
        run_at -> Timestamp,
        send_activation_email -> Bool,
        activation_email_override -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    integrations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        options -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        target_id -> Nullable<Text>,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_groups (id) {
        id -> Text,
        display_name -> Text,
        display_name_folded -> Text,
        description -> Nullable<Text>,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> BigInt,
        user_id -> Text,
        kind -> Text,
        recipient -> Text,
        link_token -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    resources (id) {
        id -> Text,
        name -> Text,
        name_folded -> Text,
        kind -> Text,
        url -> Nullable<Text>,
        bind_dn -> Nullable<Text>,
        secret -> Nullable<Text>,
        base_dn -> Nullable<Text>,
        options -> Text,
        paused_reason -> Nullable<Text>,
        paused_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    resource_bindings (resource_id, member_kind, member_id) {
        resource_id -> Text,
        member_kind -> Text,
        member_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scim_tokens (id) {
        id -> Text,
        integration_id -> Text,
        read_only -> Bool,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    provisioned_accounts (resource_id, user_id) {
        resource_id -> Text,
        user_id -> Text,
        remote_id -> Text,
        disabled -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(user_group_members -> user_groups (group_id));
diesel::joinable!(scim_tokens -> integrations (integration_id));
diesel::joinable!(user_group_members -> users (user_id));

diesel::table! {
    password_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bulk_jobs (id) {
        id -> Text,
        creation_source -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bulk_job_results (job_id, position) {
        job_id -> Text,
        position -> Integer,
        id -> Text,
        status -> Text,
        status_msg -> Text,
        meta -> Text,
        persisted_fields -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    settings,
    audit_events,
    audit_head,
    schedules,
    api_keys,
    integrations,
    outbox,
    user_groups,
    user_group_members,
    email_outbox,
    password_tokens,
    resources,
    resource_bindings,
    provisioned_accounts,
    scim_tokens,
    server_secrets,
    bulk_jobs,
    bulk_job_results,
);
