DROP TABLE admin_system_events;
DROP TABLE admin_audit_log;
