/** Small display helpers shared by the screens. */
import type { Ttr } from './types';

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

export function time(at: number | string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime())
    ? String(at)
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(at: number | string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime())
    ? String(at)
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' });
}

export function ago(at: number | string, now = Date.now()): string {
  const t = new Date(at).getTime();
  if (Number.isNaN(t)) return String(at);
  return now - t < 5_000 ? 'just now' : `${duration((now - t) / 1000)} ago`;
}

const TTR_LABEL: Record<Ttr['ttrType'], string> = {
  URGENT: 'Urgent',
  NORMAL: 'Normal',
  PRIORITIZED: 'Prioritized',
  CUSTOM: 'Custom',
};

export function ttrLabel(ttr: Ttr): string {
  return ttr.ttrType === 'CUSTOM' && ttr.value !== undefined
    ? `Custom · ${duration(ttr.value)}`
    : (TTR_LABEL[ttr.ttrType] ?? ttr.ttrType);
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
