DROP FUNCTION pm_audit_erase_subject(text, text, text, text[], jsonb, text, jsonb);
-- fails while the ledger holds erasures of leads or mailboxes: they are not deleted silently
ALTER TABLE erasure_ledger DROP CONSTRAINT erasure_ledger_subject_kind_check;
ALTER TABLE erasure_ledger ADD CONSTRAINT erasure_ledger_subject_kind_check
  CHECK (subject_kind IN ('tenant'));
