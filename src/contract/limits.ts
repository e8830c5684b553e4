/**
 * The bounds of one answer of a bot's service and of the values in it, in one place: the
 * connector holds live traffic to them, the bot settings' schema and the Public API's commands
 * take their ranges from here, and the SDK refuses what would break them before it is sent.
 */

/** Bounds on one answer of the bot's service: past them the answer is refused and its conversation escalated. */
export interface AnswerLimits {
  /** The body is read no further than this, in bytes. */
  maxResponseBytes: number;
  /** Items in one `response` array. */
  maxItems: number;
  /** The DELAYs of one answer together: the conversation's other events wait behind them. */
  maxDelaySeconds: number;
}

/** What the connector allows when a bot's settings do not say otherwise. */
export const DEFAULT_ANSWER_LIMITS: Readonly<AnswerLimits> = {
  maxResponseBytes: 2 * 1024 * 1024,
  maxItems: 50,
  maxDelaySeconds: 30,
};

/** The range a bot's settings may set each limit in. */
export const ANSWER_LIMIT_RANGES: Readonly<Record<keyof AnswerLimits, { minimum: number; maximum: number }>> = {
  maxResponseBytes: { minimum: 1024, maximum: 64 * 1024 * 1024 },
  maxItems: { minimum: 1, maximum: 1000 },
  maxDelaySeconds: { minimum: 1, maximum: 600 },
};

/** The most one DELAY may wait: the highest `maxDelaySeconds` a bot can be configured with. */
export const MAX_DELAY_SECONDS = ANSWER_LIMIT_RANGES.maxDelaySeconds.maximum;
/** The platform keeps TTR seconds in a 32-bit column; nine digits is what every route accepts. */
export const MAX_TTR_SECONDS = 999_999_999;
/** Skill names are 1–255 characters on the platform; a longer one names no skill. */
export const MAX_SKILL_NAME_LENGTH = 255;
/** `encodedMetadata`, in base64 characters. */
export const MAX_ENCODED_METADATA_LENGTH = 5000;
/**
 * Deeper than any valid answer can be (structured content has its own, tighter bound inside);
 * checked before anything recursive walks an answer. Its size is bounded by maxResponseBytes.
 */
export const ANSWER_SHAPE_LIMITS = { maxDepth: 64, maxNodes: Number.MAX_SAFE_INTEGER };
