/**
 * The codes the answer parser reports. The `common-*` names for the response as a whole,
 * structured content and quick replies are those of LivePerson's Conversation Tester documentation,
 * as is `custom-endpoint-invalid-body`; the per-item codes follow the same pattern. What each means
 * and how to fix it: the connector's ERROR_CODES.
 */
/** Codes `parseBotResponse` emits. */
export const PARSER_ERROR_CODES = [
  'common-invalid-ai-vendor-response',
  'common-invalid-parsed-response',
  'custom-endpoint-invalid-body',
  'common-unknown-response-type',
  'common-invalid-text-body',
  'common-invalid-private-text-body',
  'common-invalid-structured-content-body',
  'common-no-quick-replies-support-chat',
  'common-invalid-encoded-metadata',
  'common-invalid-delay-body',
  'common-delay-too-long',
  'common-too-many-items',
  'common-invalid-action-body',
  'common-multiple-actions',
  'common-invalid-intent',
] as const;
export type ParserErrorCode = (typeof PARSER_ERROR_CODES)[number];
