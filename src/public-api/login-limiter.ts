/**
 * Counts failed logins per key within a sliding window and says when a key must wait. Keys are
 * whatever the caller chooses (an address, an account and user name); the limiter keeps only
 * timestamps, in memory, bounded in size.
 */
export interface LimiterOptions {
  maxFailures: number;
  windowMs: number;
  /** Keys tracked at most; the stalest are forgotten first so a flood of names cannot grow memory. */
  maxKeys?: number;
  now?: () => number;
}

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly options: LimiterOptions) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Seconds the key must wait before trying again, or 0 when it may try now. */
  retryAfter(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.options.maxFailures) return 0;
    // The attempt is allowed again once enough failures have left the window.
    const freesAt = recent[recent.length - this.options.maxFailures] + this.options.windowMs;
    return Math.max(1, Math.ceil((freesAt - this.now()) / 1000));
  }

  fail(key: string): void {
    const recent = this.recent(key);
    recent.push(this.now());
    // Re-inserting keeps the map ordered by last failure, so the first key is the stalest.
    this.failures.delete(key);
    this.failures.set(key, recent.slice(-this.options.maxFailures));
    while (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value as string);
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const since = this.now() - this.options.windowMs;
    const kept = (this.failures.get(key) ?? []).filter((at) => at > since);
    if (kept.length) this.failures.set(key, kept);
    else this.failures.delete(key);
    return kept;
  }
}

/** Login attempts of the Public API: limited per client address and per account user. */
export class LoginLimiter {
  constructor(
    private readonly byAddress: FailureLimiter,
    private readonly byUser: FailureLimiter,
  ) {}

  static standard(now?: () => number): LoginLimiter {
    const windowMs = 5 * 60_000;
    // One address may front many users (a NAT, a bot farm's egress), so it gets more room.
    return new LoginLimiter(new FailureLimiter({ maxFailures: 20, windowMs, now }), new FailureLimiter({ maxFailures: 5, windowMs, now }));
  }

  /** Seconds to wait before this attempt may be checked, 0 when it may. */
  retryAfter(address: string, accountId: string, username: string): number {
    return Math.max(this.byAddress.retryAfter(address), this.byUser.retryAfter(userKey(accountId, username)));
  }

  failed(address: string, accountId: string, username: string): void {
    this.byAddress.fail(address);
    this.byUser.fail(userKey(accountId, username));
  }

  succeeded(accountId: string, username: string): void {
    this.byUser.reset(userKey(accountId, username));
  }
}

function userKey(accountId: string, username: string): string {
  return JSON.stringify([accountId, username]);
}
