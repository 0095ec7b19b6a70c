-- The console's actions are in the audit trail (0018) now, with every other change.
DROP TABLE ops_actions;
