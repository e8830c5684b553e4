export { AuditLog, auditMigrations, type AuditQuery, type AuditOptions } from './log.js';
export { auditAdminWrites, auditSignIns, auditSsoSignIns, auditActorOf, requestFacts } from './hooks.js';
export { auditAdmin } from './routes.js';
export { redact, snapshot, type AuditActor, type AuditEntry, type AuditInput } from './shape.js';
