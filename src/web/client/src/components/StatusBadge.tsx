import type { BotStatus, ExchangeOutcome } from '../lib/types';

const LABELS: Record<BotStatus, { label: string; hint: string }> = {
  ONLINE: { label: 'Online', hint: 'Taking conversations' },
  OFFLINE: { label: 'Offline', hint: 'Stopped; takes no conversations' },
  VENDOR_INTERRUPTION: {
    label: 'Vendor interruption',
    hint: 'The bot endpoint is failing; new conversations are escalated',
  },
  SERVICE_INTERRUPTION: { label: 'Service interruption', hint: 'The platform side is failing; retried every minute' },
};

export function StatusBadge({ status }: { status: BotStatus }) {
  const known = LABELS[status] ?? { label: status, hint: '' };
  return (
    <span className={`badge badge-${status.toLowerCase().replace(/_/g, '-')}`} title={known.hint} data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {known.label}
    </span>
  );
}

const OUTCOMES: Record<ExchangeOutcome, string> = {
  PROCESSED: 'Processed',
  PARTIAL: 'Partial',
  ESCALATED: 'Escalated',
  FAILED: 'Failed',
};

export function OutcomeBadge({ outcome }: { outcome: ExchangeOutcome }) {
  return (
    <span className={`badge badge-outcome-${outcome.toLowerCase()}`} data-outcome={outcome}>
      {OUTCOMES[outcome] ?? outcome}
    </span>
  );
}
